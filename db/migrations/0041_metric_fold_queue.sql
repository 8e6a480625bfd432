-- Metric writes no longer upsert the chart rollups themselves (three levels × every key of every batch): each
-- write adds one row holding the points it inserted, and server/tracking/rollups.ts folds the queued rows into
-- metric_rollups in bulk, in the background and before any read of the rollups.
CREATE TABLE "metric_fold_queue" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"experiment_id" bigint NOT NULL,
	"keys" text[] NOT NULL,
	"values" double precision[] NOT NULL,
	"steps" bigint[] NOT NULL,
	"timestamps" bigint[] NOT NULL
);
--> statement-breakpoint
ALTER TABLE "metric_fold_queue" ADD CONSTRAINT "metric_fold_queue_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "metric_fold_queue_experiment_run_idx" ON "metric_fold_queue" USING btree ("experiment_id","run_id");
