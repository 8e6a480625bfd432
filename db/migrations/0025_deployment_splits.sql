CREATE TABLE "deployment_splits" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"team_id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"baseline_id" uuid NOT NULL,
	"candidate_id" uuid NOT NULL,
	"environment" text NOT NULL,
	"weight" integer NOT NULL,
	"sticky" boolean DEFAULT false NOT NULL,
	"max_error_share_points" double precision,
	"max_p99_increase_ms" double precision,
	"min_requests" integer DEFAULT 100 NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"end_reason" text,
	"approval_id" uuid,
	"started_by" uuid,
	"started_by_email" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"ended_by_email" text,
	CONSTRAINT "deployment_splits_weight_check" CHECK ("weight" >= 1 AND "weight" <= 99)
);
--> statement-breakpoint
ALTER TABLE "deployment_splits" ADD CONSTRAINT "deployment_splits_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "deployment_splits" ADD CONSTRAINT "deployment_splits_model_id_registered_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."registered_models"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "deployment_splits" ADD CONSTRAINT "deployment_splits_baseline_id_deployments_id_fk" FOREIGN KEY ("baseline_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "deployment_splits" ADD CONSTRAINT "deployment_splits_candidate_id_deployments_id_fk" FOREIGN KEY ("candidate_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "deployment_splits" ADD CONSTRAINT "deployment_splits_approval_id_approval_requests_id_fk" FOREIGN KEY ("approval_id") REFERENCES "public"."approval_requests"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "deployment_splits" ADD CONSTRAINT "deployment_splits_started_by_users_id_fk" FOREIGN KEY ("started_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_splits_one_active_idx" ON "deployment_splits" USING btree ("baseline_id") WHERE "status" = 'active';
--> statement-breakpoint
CREATE INDEX "deployment_splits_candidate_idx" ON "deployment_splits" USING btree ("candidate_id");
--> statement-breakpoint
CREATE TABLE "deployment_split_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"split_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" text NOT NULL,
	"message" text NOT NULL,
	"details" jsonb
);
--> statement-breakpoint
ALTER TABLE "deployment_split_events" ADD CONSTRAINT "deployment_split_events_split_id_deployment_splits_id_fk" FOREIGN KEY ("split_id") REFERENCES "public"."deployment_splits"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "deployment_split_events_split_idx" ON "deployment_split_events" USING btree ("split_id","id");
--> statement-breakpoint
CREATE TABLE "split_request_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"split_id" uuid NOT NULL,
	"request_id" text NOT NULL,
	"variant" text NOT NULL,
	"deployment_id" uuid NOT NULL,
	"status" integer NOT NULL,
	"latency_ms" double precision NOT NULL,
	"prediction" double precision,
	"prediction_kind" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "split_request_log" ADD CONSTRAINT "split_request_log_split_id_deployment_splits_id_fk" FOREIGN KEY ("split_id") REFERENCES "public"."deployment_splits"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "split_request_log_split_idx" ON "split_request_log" USING btree ("split_id","variant","at");
--> statement-breakpoint
CREATE INDEX "split_request_log_request_idx" ON "split_request_log" USING btree ("split_id","request_id");
--> statement-breakpoint
CREATE INDEX "split_request_log_at_idx" ON "split_request_log" USING btree ("at");
--> statement-breakpoint
CREATE TABLE "split_feedback" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"split_id" uuid NOT NULL,
	"request_id" text NOT NULL,
	"label" double precision NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "split_feedback" ADD CONSTRAINT "split_feedback_split_id_deployment_splits_id_fk" FOREIGN KEY ("split_id") REFERENCES "public"."deployment_splits"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE UNIQUE INDEX "split_feedback_request_idx" ON "split_feedback" USING btree ("split_id","request_id");
--> statement-breakpoint
CREATE INDEX "split_feedback_at_idx" ON "split_feedback" USING btree ("at");
