CREATE TABLE "lan_devices" (
	"edge_serial" text NOT NULL,
	"serial" text NOT NULL,
	"data" jsonb NOT NULL,
	"seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "lan_devices_edge_serial_serial_pk" PRIMARY KEY("edge_serial","serial")
);
--> statement-breakpoint
ALTER TABLE "edges" ADD COLUMN "lan_snapshot_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "lan_devices" ADD CONSTRAINT "lan_devices_edge_serial_edges_serial_fk" FOREIGN KEY ("edge_serial") REFERENCES "public"."edges"("serial") ON DELETE cascade ON UPDATE no action;