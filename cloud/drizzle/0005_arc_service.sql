CREATE TABLE "arc_panels" (
	"device_id" uuid PRIMARY KEY NOT NULL,
	"arc_company_id" uuid,
	"state" text DEFAULT 'off' NOT NULL,
	"account_number" text,
	"event_types" text[] DEFAULT '{}'::text[] NOT NULL,
	"pending_event_types" text[],
	"connection_mode" text DEFAULT 'direct_or_server' NOT NULL,
	"armed" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "arc_profiles" (
	"company_id" uuid PRIMARY KEY NOT NULL,
	"arc_id" text NOT NULL,
	"key_hash" text NOT NULL,
	"key_issued_at" timestamp with time zone NOT NULL,
	"contact_email" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"regions" text[] NOT NULL,
	"config_completed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "arc_receivers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"company_id" uuid NOT NULL,
	"name" text NOT NULL,
	"host" text NOT NULL,
	"port" integer NOT NULL,
	"transport" text NOT NULL,
	"accounts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "site_arc_authorizations" (
	"site_id" uuid PRIMARY KEY NOT NULL,
	"arc_company_id" uuid NOT NULL,
	"authorized_by" uuid,
	"authorized_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "arc_panels" ADD CONSTRAINT "arc_panels_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "arc_panels" ADD CONSTRAINT "arc_panels_arc_company_id_companies_id_fk" FOREIGN KEY ("arc_company_id") REFERENCES "public"."companies"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "arc_profiles" ADD CONSTRAINT "arc_profiles_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "arc_receivers" ADD CONSTRAINT "arc_receivers_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "site_arc_authorizations" ADD CONSTRAINT "site_arc_authorizations_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "site_arc_authorizations" ADD CONSTRAINT "site_arc_authorizations_arc_company_id_companies_id_fk" FOREIGN KEY ("arc_company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "site_arc_authorizations" ADD CONSTRAINT "site_arc_authorizations_authorized_by_accounts_id_fk" FOREIGN KEY ("authorized_by") REFERENCES "public"."accounts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "arc_panels_arc_idx" ON "arc_panels" USING btree ("arc_company_id");--> statement-breakpoint
CREATE UNIQUE INDEX "arc_panels_account_key" ON "arc_panels" USING btree ("arc_company_id","account_number") WHERE state IN ('pending', 'accepted', 'suspended');--> statement-breakpoint
CREATE UNIQUE INDEX "arc_profiles_arc_id_key" ON "arc_profiles" USING btree ("arc_id");--> statement-breakpoint
CREATE INDEX "arc_receivers_company_idx" ON "arc_receivers" USING btree ("company_id","created_at");--> statement-breakpoint
CREATE INDEX "site_arc_authorizations_arc_idx" ON "site_arc_authorizations" USING btree ("arc_company_id");