CREATE TABLE "alarm_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"edge_serial" text NOT NULL,
	"event_id" bigint NOT NULL,
	"company_id" uuid NOT NULL,
	"site_id" uuid NOT NULL,
	"device_id" uuid NOT NULL,
	"account" text NOT NULL,
	"token" text NOT NULL,
	"code" text NOT NULL,
	"restore" boolean NOT NULL,
	"zone" text,
	"area" text,
	"description" text NOT NULL,
	"types" text[] NOT NULL,
	"forwarded" boolean NOT NULL,
	"arc_company_id" uuid,
	"arc_account" text,
	"received_at" timestamp with time zone NOT NULL,
	"delivery_path" text,
	"delivered_at" timestamp with time zone,
	"transmission_ms" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "alarm_events" ADD CONSTRAINT "alarm_events_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alarm_events" ADD CONSTRAINT "alarm_events_arc_company_id_companies_id_fk" FOREIGN KEY ("arc_company_id") REFERENCES "public"."companies"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "alarm_events_edge_event_key" ON "alarm_events" USING btree ("edge_serial","event_id");--> statement-breakpoint
CREATE INDEX "alarm_events_device_idx" ON "alarm_events" USING btree ("device_id","received_at");--> statement-breakpoint
CREATE INDEX "alarm_events_arc_idx" ON "alarm_events" USING btree ("arc_company_id","received_at");