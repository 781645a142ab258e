CREATE TABLE "p2p_devices" (
	"short_serial" text PRIMARY KEY NOT NULL,
	"code_hash" text,
	"info" jsonb,
	"connected" boolean DEFAULT false NOT NULL,
	"connected_at" timestamp with time zone,
	"disconnected_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "devices" ALTER COLUMN "edge_serial" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "short_serial" text;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "credentials_sealed" text;--> statement-breakpoint
CREATE INDEX "devices_short_serial_idx" ON "devices" USING btree ("short_serial");--> statement-breakpoint
-- The short serial of §3.1.4: the 9 characters ending at the last digit of a long serial.
UPDATE "devices" SET "short_serial" = CASE WHEN length("serial") <= 9 THEN "serial" ELSE substring("serial" from '(.{8}[0-9])[^0-9]*$') END;
