CREATE TABLE "activation_job_items" (
	"job_id" uuid NOT NULL,
	"serial" text NOT NULL,
	"model" text NOT NULL,
	"device_class" text NOT NULL,
	"ip" text NOT NULL,
	"steps" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"result" text DEFAULT 'running' NOT NULL,
	CONSTRAINT "activation_job_items_job_id_serial_pk" PRIMARY KEY("job_id","serial")
);
--> statement-breakpoint
CREATE TABLE "activation_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"site_id" uuid NOT NULL,
	"edge_serial" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "device_defaults" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"password_sealed" text NOT NULL,
	"verification_code_sealed" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "activation_job_items" ADD CONSTRAINT "activation_job_items_job_id_activation_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."activation_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activation_jobs" ADD CONSTRAINT "activation_jobs_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activation_jobs" ADD CONSTRAINT "activation_jobs_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activation_jobs" ADD CONSTRAINT "activation_jobs_created_by_accounts_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."accounts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_defaults" ADD CONSTRAINT "device_defaults_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "activation_jobs_site_created_idx" ON "activation_jobs" USING btree ("site_id","created_at");--> statement-breakpoint
CREATE INDEX "activation_jobs_edge_idx" ON "activation_jobs" USING btree ("edge_serial");