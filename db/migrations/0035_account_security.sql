ALTER TABLE "users" ADD COLUMN "devices_valid_after" timestamp with time zone;
--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "user_agent" text;
--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "ip" text;
