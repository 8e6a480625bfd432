-- Each experiment's run counts and last run activity, kept by triggers on runs so that the experiment page, the
-- experiments list and the runs table's unfiltered total never count an experiment's runs (issue 20: each page
-- view scanned all 100,000 runs of a large experiment, twice). Triggers rather than the ingest path: a bulk load
-- by SQL, a restore or a cascade delete keeps the counts as right as runs/create does. Inserts and deletes are
-- counted per statement (one aggregate over the statement's rows, so a bulk load pays once); updates too, and
-- they write only when a run's lifecycle or experiment changed or its activity time passed the recorded one.
-- last_activity is the latest coalesce(end_time, start_time) of a run while it was active: it never moves back.
CREATE TABLE "experiment_run_stats" (
  "experiment_id" bigint PRIMARY KEY NOT NULL REFERENCES "experiments"("id") ON DELETE CASCADE,
  "active_runs" bigint DEFAULT 0 NOT NULL,
  "deleted_runs" bigint DEFAULT 0 NOT NULL,
  "last_activity" bigint
);
--> statement-breakpoint
CREATE FUNCTION "experiment_run_stats_add"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO experiment_run_stats AS s (experiment_id, active_runs, deleted_runs, last_activity)
  SELECT experiment_id,
         count(*) FILTER (WHERE lifecycle_stage = 'active'),
         count(*) FILTER (WHERE lifecycle_stage <> 'active'),
         max(coalesce(end_time, start_time)) FILTER (WHERE lifecycle_stage = 'active')
  FROM new_runs GROUP BY experiment_id ORDER BY experiment_id
  ON CONFLICT (experiment_id) DO UPDATE SET
    active_runs = s.active_runs + excluded.active_runs,
    deleted_runs = s.deleted_runs + excluded.deleted_runs,
    last_activity = greatest(s.last_activity, excluded.last_activity);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "experiment_run_stats_remove"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE experiment_run_stats s SET active_runs = s.active_runs - d.active, deleted_runs = s.deleted_runs - d.deleted
  FROM (
    SELECT experiment_id, count(*) FILTER (WHERE lifecycle_stage = 'active') AS active, count(*) FILTER (WHERE lifecycle_stage <> 'active') AS deleted
    FROM old_runs GROUP BY experiment_id
  ) d
  WHERE s.experiment_id = d.experiment_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "experiment_run_stats_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO experiment_run_stats AS s (experiment_id, active_runs, deleted_runs, last_activity)
  SELECT d.experiment_id, d.active, d.deleted, d.last FROM (
    SELECT experiment_id, sum(active) AS active, sum(deleted) AS deleted, max(last) AS last FROM (
      SELECT experiment_id, -(lifecycle_stage = 'active')::int AS active, -(lifecycle_stage <> 'active')::int AS deleted, NULL::bigint AS last FROM old_runs
      UNION ALL
      SELECT experiment_id, (lifecycle_stage = 'active')::int, (lifecycle_stage <> 'active')::int,
             CASE WHEN lifecycle_stage = 'active' THEN coalesce(end_time, start_time) END FROM new_runs
    ) x GROUP BY experiment_id
  ) d
  LEFT JOIN experiment_run_stats cur ON cur.experiment_id = d.experiment_id
  WHERE d.active <> 0 OR d.deleted <> 0 OR cur.experiment_id IS NULL OR d.last > coalesce(cur.last_activity, -1)
  ORDER BY d.experiment_id
  ON CONFLICT (experiment_id) DO UPDATE SET
    active_runs = s.active_runs + excluded.active_runs,
    deleted_runs = s.deleted_runs + excluded.deleted_runs,
    last_activity = greatest(s.last_activity, excluded.last_activity);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "experiment_run_stats_clear"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE experiment_run_stats SET active_runs = 0, deleted_runs = 0;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "runs_stats_insert" AFTER INSERT ON "runs" REFERENCING NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION "experiment_run_stats_add"();
--> statement-breakpoint
CREATE TRIGGER "runs_stats_delete" AFTER DELETE ON "runs" REFERENCING OLD TABLE AS old_runs FOR EACH STATEMENT EXECUTE FUNCTION "experiment_run_stats_remove"();
--> statement-breakpoint
CREATE TRIGGER "runs_stats_update" AFTER UPDATE ON "runs" REFERENCING OLD TABLE AS old_runs NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION "experiment_run_stats_change"();
--> statement-breakpoint
CREATE TRIGGER "runs_stats_truncate" AFTER TRUNCATE ON "runs" FOR EACH STATEMENT EXECUTE FUNCTION "experiment_run_stats_clear"();
--> statement-breakpoint
INSERT INTO "experiment_run_stats" (experiment_id, active_runs, deleted_runs, last_activity)
SELECT e.id,
       count(r.id) FILTER (WHERE r.lifecycle_stage = 'active'),
       count(r.id) FILTER (WHERE r.lifecycle_stage <> 'active'),
       max(coalesce(r.end_time, r.start_time)) FILTER (WHERE r.lifecycle_stage = 'active')
FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id
GROUP BY e.id;
