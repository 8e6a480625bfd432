DROP INDEX "latest_metrics_key_value_idx";--> statement-breakpoint
DROP INDEX "metrics_run_key_step_idx";--> statement-breakpoint
DROP INDEX "params_key_value_idx";--> statement-breakpoint
DROP INDEX "run_tags_key_value_idx";--> statement-breakpoint
CREATE INDEX "latest_metrics_key_value_run_idx" ON "latest_metrics" USING btree ("key","value","run_id");--> statement-breakpoint
-- Points logged twice before this index existed are kept once (MLflow's identity of a point).
DELETE FROM "metrics" a USING "metrics" b WHERE a.ctid < b.ctid AND a."run_id" = b."run_id" AND a."key" = b."key" AND a."step" = b."step" AND a."timestamp" = b."timestamp" AND a."value" = b."value";--> statement-breakpoint
CREATE UNIQUE INDEX "metrics_point_uq" ON "metrics" USING btree ("run_id","key","step","timestamp","value");--> statement-breakpoint
CREATE INDEX "params_key_value_run_idx" ON "params" USING btree ("key","value","run_id");--> statement-breakpoint
CREATE INDEX "run_tags_key_value_run_idx" ON "run_tags" USING btree ("key","value","run_id");