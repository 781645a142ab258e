ALTER TABLE "arc_panels" ADD COLUMN "exception_state" text DEFAULT 'normal' NOT NULL;--> statement-breakpoint
ALTER TABLE "arc_panels" ADD COLUMN "exception_sending" text;--> statement-breakpoint
ALTER TABLE "arc_panels" ADD COLUMN "exception_sequence" integer DEFAULT 0 NOT NULL;