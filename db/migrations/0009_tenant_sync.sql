CREATE TABLE "tenant_sync" (
	"team_id" uuid PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"message" text,
	"repaired" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"checked_at" timestamp with time zone NOT NULL,
	"synced_at" timestamp with time zone,
	"drift_repaired_at" timestamp with time zone,
	"quota_status" jsonb,
	"kueue" boolean DEFAULT false NOT NULL,
	"applied_digest" text
);
--> statement-breakpoint
ALTER TABLE "team_quotas" ADD COLUMN "limit_range" jsonb;--> statement-breakpoint
ALTER TABLE "tenant_sync" ADD CONSTRAINT "tenant_sync_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE cascade ON UPDATE no action;