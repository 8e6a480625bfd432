CREATE TABLE "cost_ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"team_id" uuid NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"subject_name" text NOT NULL,
	"user_email" text NOT NULL,
	"run_id" text,
	"resource" text NOT NULL,
	"quantity_hours" double precision NOT NULL,
	"unit_price_usd" numeric(12, 4) NOT NULL,
	"amount_usd" numeric(16, 6) NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"metered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cost_ledger_subject_period_uq" UNIQUE("subject_kind","subject_id","period_end")
);
--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD CONSTRAINT "cost_ledger_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "cost_ledger_team_period_idx" ON "cost_ledger" USING btree ("team_id","period_start");--> statement-breakpoint
CREATE INDEX "cost_ledger_subject_idx" ON "cost_ledger" USING btree ("subject_kind","subject_id","period_end");