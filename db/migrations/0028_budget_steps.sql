ALTER TABLE "team_quotas" ADD COLUMN "budget_warn_pct" integer DEFAULT 80;--> statement-breakpoint
ALTER TABLE "team_quotas" ADD COLUMN "budget_approval_pct" integer DEFAULT 100;--> statement-breakpoint
ALTER TABLE "team_quotas" ADD COLUMN "budget_block_pct" integer DEFAULT 120;--> statement-breakpoint
ALTER TABLE "team_quotas" ADD COLUMN "budget_webhook_url" text;--> statement-breakpoint
CREATE TABLE "budget_extensions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"team_id" uuid NOT NULL REFERENCES "teams"("id") ON DELETE cascade,
	"month" date NOT NULL,
	"amount_usd" numeric(14, 2) NOT NULL,
	"reason" text NOT NULL,
	"granted_by_email" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
CREATE INDEX "budget_extensions_team_month_idx" ON "budget_extensions" ("team_id", "month");--> statement-breakpoint
CREATE TABLE "budget_alerts" (
	"team_id" uuid NOT NULL REFERENCES "teams"("id") ON DELETE cascade,
	"month" date NOT NULL,
	"step" text NOT NULL,
	"reached_at" timestamp with time zone DEFAULT now() NOT NULL,
	"spent_usd" numeric(16, 2) NOT NULL,
	"threshold_usd" numeric(16, 2) NOT NULL,
	"message" text NOT NULL,
	"webhook_url" text,
	"webhook_attempts" integer DEFAULT 0 NOT NULL,
	"webhook_next_at" timestamp with time zone,
	"webhook_delivered_at" timestamp with time zone,
	"webhook_error" text,
	CONSTRAINT "budget_alerts_pk" PRIMARY KEY ("team_id", "month", "step")
);--> statement-breakpoint
CREATE INDEX "budget_alerts_webhook_due_idx" ON "budget_alerts" ("webhook_next_at") WHERE "webhook_next_at" IS NOT NULL;
