CREATE TABLE "clip_drops" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"edge_serial" text NOT NULL,
	"company_id" uuid NOT NULL,
	"site_id" uuid NOT NULL,
	"device_id" uuid NOT NULL,
	"channel" integer NOT NULL,
	"event_types" text[] NOT NULL,
	"event_at" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	"message" text NOT NULL,
	"bytes" bigint NOT NULL,
	"dropped_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "clips" (
	"id" uuid PRIMARY KEY NOT NULL,
	"edge_serial" text NOT NULL,
	"company_id" uuid NOT NULL,
	"site_id" uuid NOT NULL,
	"device_id" uuid,
	"channel" integer NOT NULL,
	"event_types" text[] NOT NULL,
	"events" jsonb NOT NULL,
	"event_at" timestamp with time zone NOT NULL,
	"start_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"duration_seconds" real NOT NULL,
	"partial" boolean NOT NULL,
	"video_bytes" bigint NOT NULL,
	"video_sha256" text NOT NULL,
	"video_offset" bigint DEFAULT 0 NOT NULL,
	"thumbnail_bytes" integer NOT NULL,
	"thumbnail_sha256" text NOT NULL,
	"thumbnail_offset" integer DEFAULT 0 NOT NULL,
	"complete" boolean DEFAULT false NOT NULL,
	"retention_days" integer NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "cloud_storage_channels" (
	"device_id" uuid NOT NULL,
	"channel" integer NOT NULL,
	"enabled" boolean DEFAULT false NOT NULL,
	"stream" text DEFAULT 'sub' NOT NULL,
	"triggers" jsonb NOT NULL,
	"schedule" jsonb,
	"pre_seconds" integer NOT NULL,
	"post_seconds" integer NOT NULL,
	"package_id" uuid,
	"retention_days" integer,
	"activated_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cloud_storage_channels_device_id_channel_pk" PRIMARY KEY("device_id","channel")
);
--> statement-breakpoint
CREATE TABLE "cloud_storage_devices" (
	"device_id" uuid PRIMARY KEY NOT NULL,
	"login_sealed" text,
	"bandwidth_test" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "storage_packages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"retention_days" integer NOT NULL,
	"term" text NOT NULL,
	"mode" text NOT NULL,
	"origin" text NOT NULL,
	"channels" integer NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "clip_drops" ADD CONSTRAINT "clip_drops_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "clips" ADD CONSTRAINT "clips_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cloud_storage_channels" ADD CONSTRAINT "cloud_storage_channels_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cloud_storage_channels" ADD CONSTRAINT "cloud_storage_channels_package_id_storage_packages_id_fk" FOREIGN KEY ("package_id") REFERENCES "public"."storage_packages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cloud_storage_devices" ADD CONSTRAINT "cloud_storage_devices_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_packages" ADD CONSTRAINT "storage_packages_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_packages" ADD CONSTRAINT "storage_packages_created_by_accounts_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."accounts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "clip_drops_report_key" ON "clip_drops" USING btree ("edge_serial","device_id","channel","event_at","reason");--> statement-breakpoint
CREATE INDEX "clip_drops_site_idx" ON "clip_drops" USING btree ("site_id","event_at");--> statement-breakpoint
CREATE INDEX "clips_site_event_idx" ON "clips" USING btree ("site_id","event_at");--> statement-breakpoint
CREATE INDEX "clips_device_event_idx" ON "clips" USING btree ("device_id","channel","event_at");--> statement-breakpoint
CREATE INDEX "clips_expires_idx" ON "clips" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "cloud_storage_channels_package_idx" ON "cloud_storage_channels" USING btree ("package_id");--> statement-breakpoint
CREATE INDEX "storage_packages_company_idx" ON "storage_packages" USING btree ("company_id");