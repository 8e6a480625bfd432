CREATE TABLE "metric_rollups" (
	"run_id" text NOT NULL,
	"key" text NOT NULL,
	"level" smallint NOT NULL,
	"bucket" bigint NOT NULL,
	"n" integer NOT NULL,
	"first_step" bigint NOT NULL,
	"first_timestamp" bigint NOT NULL,
	"first_value" double precision NOT NULL,
	"last_step" bigint NOT NULL,
	"last_timestamp" bigint NOT NULL,
	"last_value" double precision NOT NULL,
	"min_step" bigint NOT NULL,
	"min_timestamp" bigint NOT NULL,
	"min_value" double precision NOT NULL,
	"max_step" bigint NOT NULL,
	"max_timestamp" bigint NOT NULL,
	"max_value" double precision NOT NULL,
	CONSTRAINT "metric_rollups_run_id_key_level_bucket_pk" PRIMARY KEY("run_id","key","level","bucket")
);
--> statement-breakpoint
ALTER TABLE "metric_rollups" ADD CONSTRAINT "metric_rollups_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Backfill level 0 (bucket width 64 steps) from the history already stored.
INSERT INTO "metric_rollups" SELECT run_id, key, 0, b, count(*)::int,
  (array_agg(step ORDER BY step, timestamp))[1], (array_agg(timestamp ORDER BY step, timestamp))[1], (array_agg(value ORDER BY step, timestamp))[1],
  (array_agg(step ORDER BY step DESC, timestamp DESC))[1], (array_agg(timestamp ORDER BY step DESC, timestamp DESC))[1], (array_agg(value ORDER BY step DESC, timestamp DESC))[1],
  (array_agg(step ORDER BY value, step))[1], (array_agg(timestamp ORDER BY value, step))[1], min(value),
  (array_agg(step ORDER BY value DESC, step))[1], (array_agg(timestamp ORDER BY value DESC, step))[1], max(value)
FROM (SELECT run_id, key, step, timestamp, value, floor(step::float8 / 64)::bigint AS b FROM "metrics"
      WHERE value NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)) m
GROUP BY run_id, key, b;--> statement-breakpoint
-- Backfill level 1 (bucket width 1024 steps) from the history already stored.
INSERT INTO "metric_rollups" SELECT run_id, key, 1, b, count(*)::int,
  (array_agg(step ORDER BY step, timestamp))[1], (array_agg(timestamp ORDER BY step, timestamp))[1], (array_agg(value ORDER BY step, timestamp))[1],
  (array_agg(step ORDER BY step DESC, timestamp DESC))[1], (array_agg(timestamp ORDER BY step DESC, timestamp DESC))[1], (array_agg(value ORDER BY step DESC, timestamp DESC))[1],
  (array_agg(step ORDER BY value, step))[1], (array_agg(timestamp ORDER BY value, step))[1], min(value),
  (array_agg(step ORDER BY value DESC, step))[1], (array_agg(timestamp ORDER BY value DESC, step))[1], max(value)
FROM (SELECT run_id, key, step, timestamp, value, floor(step::float8 / 1024)::bigint AS b FROM "metrics"
      WHERE value NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)) m
GROUP BY run_id, key, b;--> statement-breakpoint
-- Backfill level 2 (bucket width 16384 steps) from the history already stored.
INSERT INTO "metric_rollups" SELECT run_id, key, 2, b, count(*)::int,
  (array_agg(step ORDER BY step, timestamp))[1], (array_agg(timestamp ORDER BY step, timestamp))[1], (array_agg(value ORDER BY step, timestamp))[1],
  (array_agg(step ORDER BY step DESC, timestamp DESC))[1], (array_agg(timestamp ORDER BY step DESC, timestamp DESC))[1], (array_agg(value ORDER BY step DESC, timestamp DESC))[1],
  (array_agg(step ORDER BY value, step))[1], (array_agg(timestamp ORDER BY value, step))[1], min(value),
  (array_agg(step ORDER BY value DESC, step))[1], (array_agg(timestamp ORDER BY value DESC, step))[1], max(value)
FROM (SELECT run_id, key, step, timestamp, value, floor(step::float8 / 16384)::bigint AS b FROM "metrics"
      WHERE value NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)) m
GROUP BY run_id, key, b;--> statement-breakpoint
-- Backfill level 3 (bucket width 262144 steps) from the history already stored.
INSERT INTO "metric_rollups" SELECT run_id, key, 3, b, count(*)::int,
  (array_agg(step ORDER BY step, timestamp))[1], (array_agg(timestamp ORDER BY step, timestamp))[1], (array_agg(value ORDER BY step, timestamp))[1],
  (array_agg(step ORDER BY step DESC, timestamp DESC))[1], (array_agg(timestamp ORDER BY step DESC, timestamp DESC))[1], (array_agg(value ORDER BY step DESC, timestamp DESC))[1],
  (array_agg(step ORDER BY value, step))[1], (array_agg(timestamp ORDER BY value, step))[1], min(value),
  (array_agg(step ORDER BY value DESC, step))[1], (array_agg(timestamp ORDER BY value DESC, step))[1], max(value)
FROM (SELECT run_id, key, step, timestamp, value, floor(step::float8 / 262144)::bigint AS b FROM "metrics"
      WHERE value NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)) m
GROUP BY run_id, key, b;
