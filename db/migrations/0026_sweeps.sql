CREATE TABLE "sweeps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"team_id" uuid NOT NULL,
	"experiment_id" bigint NOT NULL,
	"parent_run_id" text NOT NULL,
	"user_id" uuid,
	"user_email" text NOT NULL,
	"name" text NOT NULL,
	"spec" jsonb NOT NULL,
	"state" text DEFAULT 'running' NOT NULL,
	"message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sweep_trials" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"sweep_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"job_id" uuid,
	"run_id" text NOT NULL,
	"params" jsonb NOT NULL,
	"state" text DEFAULT 'active' NOT NULL,
	"objective" double precision,
	"message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "sweep_trials_number_uq" UNIQUE("sweep_id","number")
);
--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_experiment_id_experiments_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "public"."experiments"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_parent_run_id_runs_id_fk" FOREIGN KEY ("parent_run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "sweep_trials" ADD CONSTRAINT "sweep_trials_sweep_id_sweeps_id_fk" FOREIGN KEY ("sweep_id") REFERENCES "public"."sweeps"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "sweep_trials" ADD CONSTRAINT "sweep_trials_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "sweep_trials" ADD CONSTRAINT "sweep_trials_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "sweeps_experiment_idx" ON "sweeps" USING btree ("experiment_id","created_at");
--> statement-breakpoint
CREATE INDEX "sweeps_state_idx" ON "sweeps" USING btree ("state");
--> statement-breakpoint
CREATE INDEX "sweep_trials_job_idx" ON "sweep_trials" USING btree ("job_id");
