// The chart bench's data: one experiment in team churn, bulk-loaded with set-based SQL (see experiment-charts.ts).
import pg from "pg";
import { openDatabase } from "@/db/client";
import { rebuildRollups } from "@/server/tracking/rollups";

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/** One experiment in team churn with `runs` runs, set-based SQL; then the rollups the chart's history reads, as after a bulk load. */
export async function seedChartsExperiment(url: string, opts: { runs: number; steps: number; email: string }): Promise<{ experimentId: number; seconds: number; metricRows: number }> {
  const { runs: RUNS, steps: STEPS, email: EMAIL } = opts;
  const t0 = performance.now();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let experimentId = 0;
  try {
    const team = await c.query<{ id: string }>("select id from teams where slug = 'churn'");
    const user = await c.query<{ id: string }>("select id from users where email = $1", [EMAIL]);
    if (!team.rows[0] || !user.rows[0]) throw new Error("the demo organization is missing");
    const now = Date.now();
    await c.query("begin");
    const exp = await c.query<{ id: string }>(
      `insert into experiments (team_id, name, description, artifact_location, created_by, creation_time, last_update_time)
       values ($1, 'bench-charts', 'Browser bench of the chart panel.', 'pending', $2, $3, $3) returning id`, [team.rows[0].id, user.rows[0].id, now]);
    experimentId = Number(exp.rows[0]!.id);
    await c.query(
      `insert into runs (id, experiment_id, team_id, name, status, start_time, end_time, user_id, created_by, lifecycle_stage, artifact_uri)
       select md5('charts-' || i::text), $1::bigint, $2::uuid, 'trial-' || i, 'FINISHED', $5::bigint - i * 1000, $5::bigint - i * 1000 + 600000, $3, $4::uuid, 'active', 'mlflow-artifacts:/x'
       from generate_series(0, $6::int - 1) i`, [experimentId, team.rows[0].id, EMAIL, user.rows[0].id, now, RUNS]);
    // lr (log-uniform), dropout (uniform), batch_size (int), depth (int), optimizer (categorical).
    await c.query(
      `insert into params (run_id, key, value)
       select r.id, k.key, case k.key
         when 'lr' then round(power(10, -4 + 3 * random())::numeric, 6)::text
         when 'dropout' then round((random() * 0.5)::numeric, 3)::text
         when 'batch_size' then (array['32','64','128','256'])[1 + floor(random() * 4)::int]
         when 'depth' then (2 + floor(random() * 10))::int::text
         else (array['adam','sgd','rmsprop','adamw'])[1 + floor(random() * 4)::int] end
       from runs r cross join unnest(array['lr','dropout','batch_size','depth','optimizer']) k(key) where r.experiment_id = $1`, [experimentId]);
    // val_auc depends on lr, depth and the optimizer (so importance has something to find), plus noise.
    await c.query(
      `insert into latest_metrics (run_id, key, value, step, timestamp)
       select r.id, 'val_auc', 0.9 - 0.05 * abs(log(lr.value::float8) + 2.5) - 0.01 * abs(depth.value::float8 - 6)
                               + case opt.value when 'adam' then 0.02 when 'adamw' then 0.025 else 0 end + 0.01 * random(), 0, r.start_time
       from runs r join params lr on lr.run_id = r.id and lr.key = 'lr' join params depth on depth.run_id = r.id and depth.key = 'depth'
       join params opt on opt.run_id = r.id and opt.key = 'optimizer' where r.experiment_id = $1`, [experimentId]);
    // A loss curve of STEPS points per run; its last point is the latest value.
    await c.query(
      `insert into metrics (run_id, key, value, step, timestamp)
       select r.id, 'loss', exp(-s::float8 / (10 + (abs(hashtext(r.id)) % 50))) + 0.05 * random(), s, r.start_time + s * 1000
       from runs r cross join generate_series(0, $2::int - 1) s where r.experiment_id = $1`, [experimentId, STEPS]);
    await c.query(
      `insert into latest_metrics (run_id, key, value, step, timestamp)
       select distinct on (m.run_id) m.run_id, m.key, m.value, m.step, m.timestamp from metrics m join runs r on r.id = m.run_id
       where r.experiment_id = $1 and m.key = 'loss' order by m.run_id, m.step desc`, [experimentId]);
    await c.query(
      `insert into experiment_keys (experiment_id, kind, key)
       select distinct $1::bigint, 'param', p.key from params p join runs r on r.id = p.run_id where r.experiment_id = $1
       union select distinct $1::bigint, 'metric', m.key from latest_metrics m join runs r on r.id = m.run_id where r.experiment_id = $1
       on conflict do nothing`, [experimentId]);
    await c.query("commit");
  } catch (err) {
    await c.query("rollback").catch(() => undefined);
    throw err;
  }
  const ids = (await c.query<{ id: string }>("select id from runs where experiment_id = $1", [experimentId])).rows.map((r) => r.id);
  await c.end();
  const database = await openDatabase({ url });
  try {
    for (let i = 0; i < ids.length; i += 1000) await rebuildRollups(database.db, ids.slice(i, i + 1000));
  } finally {
    await database.close();
  }
  const a = new pg.Client({ connectionString: url });
  await a.connect();
  await a.query("analyze runs, params, latest_metrics, metrics, metric_rollups");
  await a.end();
  return { experimentId, seconds: round((performance.now() - t0) / 1000), metricRows: RUNS * STEPS };
}
