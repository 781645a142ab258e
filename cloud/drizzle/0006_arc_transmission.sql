ALTER TABLE "arc_panels" ADD COLUMN "impulse_counting_ms" integer DEFAULT 10000 NOT NULL;--> statement-breakpoint
ALTER TABLE "arc_panels" ADD COLUMN "attempts" integer DEFAULT 3 NOT NULL;--> statement-breakpoint
ALTER TABLE "arc_panels" ADD COLUMN "polling_ms" integer DEFAULT 0 NOT NULL;