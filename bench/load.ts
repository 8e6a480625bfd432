// Bulk loading with one `INSERT … SELECT generate_series(…)` per table (pg-copy-streams is not installed).
// Foreign-key triggers are switched off for the load session (session_replication_role = replica):
// every row refers to a run inserted just before, so the data is consistent by construction. The triggers
// that keep each experiment's run counts are off too: the load sets the experiment's counts itself.
// Child rows are generated in run-id order so the primary-key b-trees fill left to right.
import type pg from "pg";
import { log, now, round } from "./stats";

export type LoadShape = { runs: number; params: number; metrics: number; tags: number };
export type StepTiming = { step: string; rows: number; ms: number };
export type LoadReport = { totalMs: number; steps: StepTiming[] };

const FIXED_TAGS = ["mlflow.runName", "mlflow.user", "mlflow.source.type", "mlflow.source.name"];

/** The run id of bench run i (1-based): 32 hex digits, as Cairn's own ids. */
export const BENCH_RUN_ID_SQL = "md5('cairn-bench-' || i)";

async function step(raw: pg.Client, report: LoadReport, name: string, text: string, values: unknown[] = []): Promise<void> {
  const t = now();
  const res = await raw.query(text, values);
  const ms = now() - t;
  report.steps.push({ step: name, rows: res.rowCount ?? 0, ms: round(ms) });
  log(`  ${name}: ${res.rowCount ?? 0} rows in ${(ms / 1000).toFixed(1)} s`);
}

async function beginLoad(raw: pg.Client): Promise<void> {
  await raw.query("set session_replication_role = replica");
  await raw.query("set work_mem = '256MB'");
  await raw.query("set maintenance_work_mem = '512MB'");
  await raw.query("select setseed(0.42)");
}

async function endLoad(raw: pg.Client): Promise<void> {
  await raw.query("reset session_replication_role");
  await raw.query("reset work_mem");
  await raw.query("reset maintenance_work_mem");
}

/**
 * `shape.runs` finished runs in experiment `experimentId`, each with `params` params (p0… = v0…v19),
 * `metrics` metrics (m0… uniform in [0,1), one history point each, mirrored in latest_metrics) and
 * `tags` tags (mlflow.runName, mlflow.user, mlflow.source.*, then t0… = x0…x9).
 */
export async function loadSearchData(
  raw: pg.Client,
  shape: LoadShape,
  target: { experimentId: number; teamId: string; userId: string; userEmail: string },
): Promise<LoadReport> {
  const report: LoadReport = { totalMs: 0, steps: [] };
  const started = now();
  const t0 = Date.UTC(2025, 0, 1);
  const exp = target.experimentId;
  const tagKeys = [...FIXED_TAGS, ...Array.from({ length: Math.max(0, shape.tags - FIXED_TAGS.length) }, (_, k) => `t${k}`)].slice(0, shape.tags);
  await beginLoad(raw);
  try {
    await step(raw, report, "runs", `
      insert into runs (id, experiment_id, team_id, name, status, start_time, end_time, user_id, created_by, lifecycle_stage, artifact_uri)
      select ${BENCH_RUN_ID_SQL}, $1::bigint, $2::uuid, 'bench-run-' || i, 'FINISHED', $3::bigint + i * 1000, $3::bigint + i * 1000 + 600000,
             $4, $5::uuid, 'active', 'mlflow-artifacts:/' || $1::bigint || '/' || ${BENCH_RUN_ID_SQL} || '/artifacts'
      from generate_series(1, $6::int) i`,
      [exp, target.teamId, t0, target.userEmail, target.userId, shape.runs]);
    const sortedRuns = `(select id, name, user_id, start_time from runs where experiment_id = $1 order by id) r`;
    await step(raw, report, "params", `
      insert into params (run_id, key, value)
      select r.id, 'p' || j, 'v' || floor(random() * 20)::int
      from ${sortedRuns} cross join generate_series(0, $2::int - 1) j`,
      [exp, shape.params]);
    await step(raw, report, "run_tags", `
      insert into run_tags (run_id, key, value)
      select r.id, k.key, case k.key
          when 'mlflow.runName' then r.name
          when 'mlflow.user' then r.user_id
          when 'mlflow.source.type' then 'LOCAL'
          when 'mlflow.source.name' then 'train.py'
          else 'x' || floor(random() * 10)::int end
      from ${sortedRuns} cross join unnest($2::text[]) k(key)`,
      [exp, tagKeys]);
    await step(raw, report, "metrics (latest point per key)", `
      insert into metrics (run_id, key, value, step, timestamp)
      select r.id, 'm' || j, random(), 100, r.start_time + 600000
      from ${sortedRuns} cross join generate_series(0, $2::int - 1) j`,
      [exp, shape.metrics]);
    await step(raw, report, "latest_metrics", `
      insert into latest_metrics (run_id, key, value, step, timestamp)
      select m.run_id, m.key, m.value, m.step, m.timestamp
      from metrics m join runs r on r.id = m.run_id where r.experiment_id = $1`,
      [exp]);
  } finally {
    await endLoad(raw);
  }
  // The load ran with triggers off, so the experiment's run counts (migration 0036) are set here.
  await step(raw, report, "experiment run stats", `
    insert into experiment_run_stats (experiment_id, active_runs, deleted_runs, last_activity)
    select $1::bigint, count(*) filter (where lifecycle_stage = 'active'), count(*) filter (where lifecycle_stage <> 'active'),
           max(coalesce(end_time, start_time)) filter (where lifecycle_stage = 'active')
    from runs where experiment_id = $1
    on conflict (experiment_id) do update set active_runs = excluded.active_runs, deleted_runs = excluded.deleted_runs, last_activity = excluded.last_activity`,
    [exp]);
  await step(raw, report, "vacuum analyze", "vacuum analyze runs, params, run_tags, metrics, latest_metrics");
  report.totalMs = round(now() - started);
  return report;
}

/** `points` points of metric `key` (steps 0…points-1) into one run, plus its latest value. */
export async function loadHistory(raw: pg.Client, runId: string, key: string, points: number): Promise<LoadReport> {
  const report: LoadReport = { totalMs: 0, steps: [] };
  const started = now();
  const t0 = Date.UTC(2025, 0, 1);
  await beginLoad(raw);
  try {
    await step(raw, report, `metrics history (${points} points)`, `
      insert into metrics (run_id, key, value, step, timestamp)
      select $1, $2, 1.0 / (1 + i / 10000.0) + 0.05 * sin(i / 50.0) + 0.02 * random(), i, $3::bigint + i * 10
      from generate_series(0, $4::int - 1) i`,
      [runId, key, t0, points]);
    await step(raw, report, "latest_metrics (history run)", `
      insert into latest_metrics (run_id, key, value, step, timestamp)
      select run_id, key, value, step, timestamp from metrics
      where run_id = $1 and key = $2 order by step desc, timestamp desc limit 1
      on conflict (run_id, key) do update set value = excluded.value, step = excluded.step, timestamp = excluded.timestamp`,
      [runId, key]);
  } finally {
    await endLoad(raw);
  }
  await step(raw, report, "vacuum analyze", "vacuum analyze metrics, latest_metrics");
  report.totalMs = round(now() - started);
  return report;
}
