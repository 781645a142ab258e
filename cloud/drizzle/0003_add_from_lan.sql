ALTER TABLE "devices" ADD COLUMN "access_mode" text DEFAULT 'p2p' NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "channels" integer DEFAULT 0 NOT NULL;