// Writing a batch of metric points in ONE statement: the history (duplicates stored once), the chart
// rollups, the latest value per key and the experiment's key list, guarded by the run check (and, on
// the token path, the token's grant). A single statement is atomic on its own, so a metric-only batch
// needs no BEGIN/COMMIT; when the guard fails nothing is written and the caller learns why elsewhere.
// The text is built once and sent as a named prepared statement, so PostgreSQL plans it once per connection.
// The points travel once, as four array literals built here; the rollup rows and the latest value per key
// name their points by position in those arrays (small integers), so neither side spends time serialising
// and parsing the same doubles again.
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { Placeholder } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Db, DbOrTx } from "@/db/client";
import { poolOf } from "@/db/client";
import { experimentKeys, latestMetrics, metricRollups, metrics, runs } from "@/db/schema";
import { tokenGrantSql } from "../auth/token-actor";
import { markRecorded, unrecordedKeys } from "./keys";
import { ROLLUP_COLUMNS, ROLLUP_MERGE, aggregateRollups, rollupRowsFrom } from "./rollups";

export type Point = { key: string; value: number; step: number; timestamp: number };

const ph = (name: string) => sql.placeholder(name);

/**
 * `run` yields (id, experiment_id, user_id, token_id, last_used_at) for a run that may be written, or
 * no row. Every write below is a cross join with it, so no row means nothing is written.
 */
function metricWrite(run: SQL): SQL {
  // A point's columns by its (1-based) position in the bound arrays.
  const at = (i: SQL) => sql`p.keys[${i}], p.steps[${i}], p.timestamps[${i}], p.values[${i}]`;
  const point = (i: SQL) => sql`p.steps[${i}], p.timestamps[${i}], p.values[${i}]`;
  return sql`
    with run as (${run}),
    p as (select ${ph("keys")}::text[] as keys, ${ph("values")}::float8[] as values, ${ph("steps")}::bigint[] as steps, ${ph("timestamps")}::bigint[] as timestamps),
    ins as (
      insert into ${metrics} (run_id, key, value, step, timestamp)
      select run.id, u.k, u.v, u.s, u.t
      from run cross join p cross join unnest(p.keys, p.values, p.steps, p.timestamps) as u(k, v, s, t)
      on conflict do nothing
      returning run_id, key, value, step, timestamp),
    inserted as (select count(*)::int as n from ins),
    -- When every distinct point was new (the usual case) the rollups aggregated by the caller are exact;
    -- otherwise (a retried batch) they are aggregated here from the points actually inserted.
    roll as (
      insert into ${metricRollups} ${ROLLUP_COLUMNS}
      select * from (
        select run.id, p.keys[a.f], a.lvl, a.b, a.n, ${point(sql`a.f`)}, ${point(sql`a.l`)}, ${point(sql`a.mn`)}, ${point(sql`a.mx`)}
        from run cross join p cross join unnest(${ph("rollLevels")}::smallint[], ${ph("rollBuckets")}::bigint[], ${ph("rollCounts")}::int[],
          ${ph("rollFirst")}::int[], ${ph("rollLast")}::int[], ${ph("rollMin")}::int[], ${ph("rollMax")}::int[]) as a(lvl, b, n, f, l, mn, mx)
        where (select n from inserted) = ${ph("distinctPoints")}) as given
      union all
      select * from (${rollupRowsFrom(sql`ins`)}) as agg
      where (select n from inserted) <> ${ph("distinctPoints")}
      ${ROLLUP_MERGE}
      returning 1),
    latest as (
      insert into ${latestMetrics} (run_id, key, step, timestamp, value)
      select run.id, ${at(sql`l.i`)}
      from run cross join p cross join unnest(${ph("latest")}::int[]) as l(i)
      on conflict (run_id, key) do update set value = excluded.value, step = excluded.step, timestamp = excluded.timestamp
      -- MLflow's latest: step, then timestamp, then the larger value (NaN sorts highest, as in later()).
      where (excluded.step, excluded.timestamp, excluded.value) > (${latestMetrics}.step, ${latestMetrics}.timestamp, ${latestMetrics}.value)
      returning 1),
    new_keys as (
      insert into ${experimentKeys} (experiment_id, kind, key)
      select run.experiment_id, 'metric', k from run cross join unnest(${ph("newKeys")}::text[]) as k
      on conflict do nothing
      returning 1)
    select run.id as run_id, run.experiment_id, run.user_id, run.token_id, run.last_used_at,
      (select n from inserted) as inserted, (select count(*) from roll)::int as rollups,
      (select count(*) from latest)::int as latest, (select count(*) from new_keys)::int as new_keys
    from run`;
}

type Compiled = { name: string; text: string; params: unknown[] };

function compile(name: string, query: SQL): Compiled {
  const { sql: text, params } = new PgDialect().sqlToQuery(query);
  return { name, text, params };
}

/** The run, when it is active (the caller has authorized the actor). */
const BY_RUN = compile("cairn_metric_write_run_v2", metricWrite(sql`
  select r.id, r.experiment_id, null::uuid as user_id, null::uuid as token_id, null::timestamptz as last_used_at
  from ${runs} r where r.id = ${ph("runId")} and r.lifecycle_stage = 'active'`));

/** The run, when it is active and the API token may train in its team. */
const BY_TOKEN = compile("cairn_metric_write_token_v2", metricWrite(sql`
  select r.id, r.experiment_id, g.user_id, g.token_id, g.last_used_at
  from ${runs} r cross join lateral (${tokenGrantSql(ph("tokenHash"), "train_model", sql`r.team_id`)}) as g
  where r.id = ${ph("runId")} and r.lifecycle_stage = 'active'`));

type Row = { run_id: string; experiment_id: string | number; user_id: string | null; token_id: string | null; last_used_at: Date | string | null; inserted: number };
type RawResult = { rows: Row[] };

/** Runs a compiled statement through the driver: a named prepared statement on PostgreSQL. */
async function execute(db: DbOrTx, statement: Compiled, values: Record<string, unknown>): Promise<Row | undefined> {
  const params = statement.params.map((p) => (p instanceof Placeholder ? values[p.name] : p));
  const pool = poolOf(db);
  if (pool) {
    const result = await pool.query<Row>({ name: statement.name, text: statement.text, values: params });
    return result.rows[0];
  }
  // PGlite (in-process) or an open transaction: through drizzle, which binds the same parameters.
  const chunks = statement.text.split(/\$(\d+)/);
  const query = sql.join(chunks.map((c, i) => (i % 2 === 0 ? sql.raw(c) : sql`${sql.param(params[Number(c) - 1])}`)));
  return ((await db.execute(query)) as unknown as RawResult).rows[0];
}

/** Runs never move between experiments, so each process remembers a run's experiment (for the key list). */
const runExperiment = new Map<string, number>();
const MAX_RUNS_REMEMBERED = 100_000;

/** A PostgreSQL array literal of numbers (NaN and ±Infinity spelled as float8 reads them). */
function numberArray(xs: number[]): string {
  return `{${xs.join(",")}}`;
}

/** A PostgreSQL array literal of strings, each quoted (keys may hold commas, braces, quotes, spaces). */
function textArray(xs: string[]): string {
  let out = "{";
  for (let i = 0; i < xs.length; i++) out += `${i ? "," : ""}"${xs[i]!.replace(/[\\"]/g, "\\$&")}"`;
  return `${out}}`;
}

type Indexed = Point & { i: number };

function bind(points: Point[], runId: string, experimentId: number | undefined): Record<string, unknown> {
  // Each point by its 1-based position in the bound arrays.
  const indexed: Indexed[] = points.map((p, i) => ({ key: p.key, value: p.value, step: p.step, timestamp: p.timestamp, i: i + 1 }));
  // Rollups count each distinct point once, as the history stores it once.
  const distinct = new Map<string, Indexed>();
  for (const p of indexed) distinct.set(`${p.key}\u0000${p.step}\u0000${p.timestamp}\u0000${p.value}`, p);
  const rollups = aggregateRollups([...distinct.values()]);
  const keys = points.map((p) => p.key);
  return {
    runId,
    keys: textArray(keys), values: numberArray(points.map((p) => p.value)), steps: numberArray(points.map((p) => p.step)), timestamps: numberArray(points.map((p) => p.timestamp)),
    distinctPoints: distinct.size,
    rollLevels: numberArray(rollups.map((a) => a.level)), rollBuckets: numberArray(rollups.map((a) => a.bucket)), rollCounts: numberArray(rollups.map((a) => a.n)),
    rollFirst: numberArray(rollups.map((a) => a.first.i)), rollLast: numberArray(rollups.map((a) => a.last.i)),
    rollMin: numberArray(rollups.map((a) => a.min.i)), rollMax: numberArray(rollups.map((a) => a.max.i)),
    latest: numberArray(latestPerKey(indexed).map((p) => p.i)),
    // Unknown experiment: send every key (on conflict do nothing); known: only those not yet recorded.
    newKeys: experimentId === undefined ? [...new Set(keys)].sort() : unrecordedKeys(experimentId, "metric", keys),
  };
}

/** MLflow's "latest": the highest step, then the latest timestamp, then the larger value. */
export function later(a: Point, b: Point): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value || Number.isNaN(a.value);
}

/** The latest point of each key, in key order (the order rows are locked in). */
export function latestPerKey<P extends Point>(points: P[]): P[] {
  const latest = new Map<string, P>();
  for (const p of points) {
    const cur = latest.get(p.key);
    if (!cur || later(p, cur)) latest.set(p.key, p);
  }
  return [...latest.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Writes `points` into an active run the caller may write to (already authorized). Returns false when
 * the run is not (or no longer) active, having written nothing. Inside a transaction (`inTransaction`)
 * the new keys are written but not remembered: the caller records them after its commit.
 */
export async function writeMetricPoints(db: DbOrTx, run: { runId: string; experimentId: number }, points: Point[], inTransaction = false): Promise<boolean> {
  if (points.length === 0) return true;
  const values = bind(points, run.runId, run.experimentId);
  const row = await execute(db, BY_RUN, values);
  if (row && !inTransaction) markRecorded(run.experimentId, "metric", values.newKeys as string[]);
  return row !== undefined;
}

export type TokenWrite = { userId: string; tokenId: string; lastUsedAt: Date | null };

/**
 * Writes `points` into run `runId` if the API token (by its lookup hash) may train in the run's team and
 * the run is active, all in one statement. Returns null, having written nothing, when any check fails:
 * the caller then takes the general path, which says why and audits a denial.
 */
export async function writeMetricPointsByToken(db: Db, tokenHash: string, runId: string, points: Point[]): Promise<TokenWrite | null> {
  if (points.length === 0) return null;
  const values: Record<string, unknown> = { ...bind(points, runId, runExperiment.get(runId)), tokenHash };
  const row = await execute(db, BY_TOKEN, values);
  if (!row || row.user_id === null || row.token_id === null) return null;
  const experimentId = Number(row.experiment_id);
  if (runExperiment.size > MAX_RUNS_REMEMBERED) runExperiment.clear();
  runExperiment.set(runId, experimentId);
  markRecorded(experimentId, "metric", values.newKeys as string[]);
  return { userId: row.user_id, tokenId: row.token_id, lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at) };
}
