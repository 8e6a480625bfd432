// Metric rollups: per step bucket (width 64·16^level), the first, last, min and max finite point.
// Three levels (64, 1,024 and 16,384 steps a bucket); a fourth (262,144) saved reads only on series of more
// than 100 million steps.
// A metric write does not upsert them itself (that was three upserts per key of every batch): it adds one row
// to metric_fold_queue holding the points it inserted (metric-write.ts), and the queued rows are folded in
// bulk — by a background fold shortly after a write, and by every reader of rollups, for its runs, before it
// reads (foldQueued*): a fold deletes the rows it folds in the transaction that merges them, so each point is
// counted once, and a reader waits for a fold in progress on its runs, so it always reads every point written
// before it. Rebuilt after bulk loads, read by the sampled history and the charts.
import { inArray, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { isClosed } from "@/db/client";
import { metricFoldQueue, metricRollups } from "@/db/schema";
import { log } from "../observability/log";
import { numberArray, textArray } from "./pg-arrays";

export const ROLLUP_LEVELS = [0, 1, 2] as const;
export const rollupWidth = (level: number): number => 64 * 16 ** level;

export const ROLLUP_COLUMNS = sql`(run_id, key, level, bucket, n, first_step, first_timestamp, first_value, last_step, last_timestamp,
  last_value, min_step, min_timestamp, min_value, max_step, max_timestamp, max_value)`;

/**
 * Rollup rows aggregated from `source` (a relation with run_id, key, step, timestamp, value), in run, key,
 * level, bucket order so concurrent folds take row locks in the same order and never deadlock.
 * The level count is a literal, not a parameter: a prepared statement's generic plan then knows it is 4
 * rows (as a parameter it is estimated at 1000, and PostgreSQL re-plans the statement every time).
 */
export function rollupRowsFrom(source: SQL): SQL {
  return sql`
    select run_id, key, lvl::smallint, floor(step::float8 / (64 * power(16, lvl)))::bigint as b, count(*)::int,
      (array_agg(step order by step, timestamp))[1], (array_agg(timestamp order by step, timestamp))[1], (array_agg(value order by step, timestamp))[1],
      (array_agg(step order by step desc, timestamp desc))[1], (array_agg(timestamp order by step desc, timestamp desc))[1], (array_agg(value order by step desc, timestamp desc))[1],
      (array_agg(step order by value, step))[1], (array_agg(timestamp order by value, step))[1], min(value),
      (array_agg(step order by value desc, step))[1], (array_agg(timestamp order by value desc, step))[1], max(value)
    from ${source} as src cross join generate_series(0, ${sql.raw(String(ROLLUP_LEVELS.length - 1))}) as lvl
    where value not in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)
    group by run_id, key, lvl, b
    order by run_id, key, lvl, b`;
}

const r = sql.identifier("metric_rollups");
const firstWins = sql`(excluded.first_step, excluded.first_timestamp) < (${r}.first_step, ${r}.first_timestamp)`;
const lastWins = sql`(excluded.last_step, excluded.last_timestamp) > (${r}.last_step, ${r}.last_timestamp)`;

/** Merges new rows into existing buckets: counts add, the earlier first, later last, lower min, higher max win. */
export const ROLLUP_MERGE = sql`on conflict (run_id, key, level, bucket) do update set
  n = ${r}.n + excluded.n,
  first_step = case when ${firstWins} then excluded.first_step else ${r}.first_step end,
  first_timestamp = case when ${firstWins} then excluded.first_timestamp else ${r}.first_timestamp end,
  first_value = case when ${firstWins} then excluded.first_value else ${r}.first_value end,
  last_step = case when ${lastWins} then excluded.last_step else ${r}.last_step end,
  last_timestamp = case when ${lastWins} then excluded.last_timestamp else ${r}.last_timestamp end,
  last_value = case when ${lastWins} then excluded.last_value else ${r}.last_value end,
  min_step = case when excluded.min_value < ${r}.min_value then excluded.min_step else ${r}.min_step end,
  min_timestamp = case when excluded.min_value < ${r}.min_value then excluded.min_timestamp else ${r}.min_timestamp end,
  min_value = least(excluded.min_value, ${r}.min_value),
  max_step = case when excluded.max_value > ${r}.max_value then excluded.max_step else ${r}.max_step end,
  max_timestamp = case when excluded.max_value > ${r}.max_value then excluded.max_timestamp else ${r}.max_timestamp end,
  max_value = greatest(excluded.max_value, ${r}.max_value)`;

/** Recomputes the rollups of the given runs from their raw history (bulk loads bypass the write path). */
export async function rebuildRollups(db: DbOrTx, runIds: string[]): Promise<void> {
  if (runIds.length === 0) return;
  // Their queued points are in the raw history read below: folded again they would count twice.
  await db.delete(metricFoldQueue).where(inArray(metricFoldQueue.runId, runIds));
  await db.delete(metricRollups).where(inArray(metricRollups.runId, runIds));
  const source = sql`(select run_id, key, step, timestamp, value from metrics where run_id in (${sql.join(runIds.map((id) => sql`${id}`), sql`, `)}))`;
  await db.execute(sql`insert into ${metricRollups} ${ROLLUP_COLUMNS} ${rollupRowsFrom(source)}`);
}

// ---------- folding the queue ----------

/**
 * What one fold takes: queued writes (a 10-metric batch is one row of 10 points, a 1000-metric one of 1000), at most
 * FOLD_POINTS points (the first row always), so a fold's work and memory in Node stay small whatever was queued.
 */
const FOLD_ROWS = 500;
const FOLD_POINTS = 20_000;

type Queued = { run_id: string; keys: unknown; values: unknown; steps: unknown; timestamps: unknown };
/** A queued point: steps and timestamps kept as the database's text (exact int64), compared as numbers. */
type FoldPoint = { runId: string; key: string; value: number; step: string; timestamp: string; s: number; t: number };
type Agg = { runId: string; key: string; level: number; bucket: number; n: number; first: FoldPoint; last: FoldPoint; min: FoldPoint; max: FoldPoint };

const json = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;
const before = (a: FoldPoint, b: FoldPoint) => a.s < b.s || (a.s === b.s && a.t < b.t);

/**
 * The rollup rows of queued points (non-finite values skipped, as the rebuild skips them), in run, key, level,
 * bucket order so concurrent folds take row locks in the same order and never deadlock. The bucket is computed
 * as the rebuild computes it (the step as a double, divided by the width, floored).
 */
function aggregate(rows: Queued[]): Agg[] {
  const aggs = new Map<string, Agg>();
  for (const row of rows) {
    const keys = json<string[]>(row.keys);
    const values = json<(number | string)[]>(row.values);
    const steps = json<string[]>(row.steps);
    const timestamps = json<string[]>(row.timestamps);
    for (let i = 0; i < keys.length; i++) {
      const value = Number(values[i]);
      if (!Number.isFinite(value)) continue; // NaN and ±Infinity are not plotted
      const p: FoldPoint = { runId: row.run_id, key: keys[i]!, value, step: String(steps[i]), timestamp: String(timestamps[i]), s: Number(steps[i]), t: Number(timestamps[i]) };
      for (const level of ROLLUP_LEVELS) {
        const bucket = Math.floor(p.s / rollupWidth(level));
        const id = `${p.runId}\u0000${p.key}\u0000${level}\u0000${bucket}`;
        const a = aggs.get(id);
        if (!a) {
          aggs.set(id, { runId: p.runId, key: p.key, level, bucket, n: 1, first: p, last: p, min: p, max: p });
          continue;
        }
        a.n++;
        if (before(p, a.first)) a.first = p;
        if (before(a.last, p)) a.last = p;
        if (p.value < a.min.value || (p.value === a.min.value && p.s < a.min.s)) a.min = p;
        if (p.value > a.max.value || (p.value === a.max.value && p.s < a.max.s)) a.max = p;
      }
    }
  }
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return [...aggs.values()].sort((a, b) => cmp(a.runId, b.runId) || cmp(a.key, b.key) || a.level - b.level || a.bucket - b.bucket);
}

/**
 * Folds queued rows into the rollups and deletes them, in one transaction: `pick` selects the queue ids to
 * take (locked FOR UPDATE; with SKIP LOCKED the background leaves rows another fold holds, a reader waits
 * for them, so that after its fold every earlier write of its runs is in the rollups). The points are
 * aggregated here (about 10 µs a point less than twelve ordered aggregates in SQL) and merged in one upsert.
 * Returns the rows folded.
 */
async function fold(db: DbOrTx, pick: SQL): Promise<number> {
  return db.transaction(async (tx) => {
    const taken = (await tx.execute(sql`
      delete from ${metricFoldQueue} where id in (${pick})
      returning run_id, to_json(keys) as keys, to_json(values) as values, to_json(steps::text[]) as steps, to_json(timestamps::text[]) as timestamps`)) as unknown as { rows: Queued[] };
    const aggs = aggregate(taken.rows);
    if (aggs.length > 0) {
      const col = (f: (a: Agg) => string | number) => numberArray(aggs.map(f));
      const text = (f: (a: Agg) => string) => textArray(aggs.map(f));
      await tx.execute(sql`
        insert into ${metricRollups} ${ROLLUP_COLUMNS}
        select * from unnest(${text((a) => a.runId)}::text[], ${text((a) => a.key)}::text[], ${col((a) => a.level)}::smallint[],
          ${col((a) => a.bucket)}::bigint[], ${col((a) => a.n)}::int[],
          ${col((a) => a.first.step)}::bigint[], ${col((a) => a.first.timestamp)}::bigint[], ${col((a) => a.first.value)}::float8[],
          ${col((a) => a.last.step)}::bigint[], ${col((a) => a.last.timestamp)}::bigint[], ${col((a) => a.last.value)}::float8[],
          ${col((a) => a.min.step)}::bigint[], ${col((a) => a.min.timestamp)}::bigint[], ${col((a) => a.min.value)}::float8[],
          ${col((a) => a.max.step)}::bigint[], ${col((a) => a.max.timestamp)}::bigint[], ${col((a) => a.max.value)}::float8[])
        ${ROLLUP_MERGE}`);
    }
    return taken.rows.length;
  });
}

/** The oldest queued rows matching `where`, up to FOLD_ROWS and FOLD_POINTS points, locked (`skipLocked`: rows another fold holds are left). */
function chunk(where: SQL, skipLocked: boolean): SQL {
  // `= any(array(…))`: the chosen ids are looked up by the primary key, never by a scan of the queue's dead rows.
  return sql`select id from ${metricFoldQueue} where id = any(array(
      select id from (
        select id, sum(cardinality(keys)) over (order by id) as upto, row_number() over (order by id) as n
        from (select id, keys from ${metricFoldQueue} where ${where} order by id limit ${FOLD_ROWS}) as oldest) as c
      where upto <= ${FOLD_POINTS} or n = 1))
    order by id for update ${skipLocked ? sql`skip locked` : sql``}`;
}

/** Folds the rows of `where` chunk by chunk until none is left (a reader: waiting for rows another fold holds). */
async function foldAll(db: DbOrTx, where: SQL): Promise<void> {
  while ((await fold(db, chunk(where, false))) > 0);
}

/** Before reading the rollups of `runs`: folds their queued points (waiting for a fold that holds some). */
export async function foldQueuedRuns(db: DbOrTx, runs: { experimentId: number; runId: string }[]): Promise<void> {
  if (runs.length === 0) return;
  // By (experiment, run): the queue's index, so a read does not scan what other writes queued.
  const pairs = sql.join(runs.map((r) => sql`(${r.experimentId}::bigint, ${r.runId}::text)`), sql`, `);
  await foldAll(db, sql`(experiment_id, run_id) in (${pairs})`);
}

/** Before reading the rollups of an experiment's runs (the charts): folds their queued points. */
export async function foldQueuedExperiment(db: DbOrTx, experimentId: number): Promise<void> {
  await foldAll(db, sql`experiment_id = ${experimentId}`);
}

/** Folds everything queued, oldest first, chunk by chunk, leaving rows another fold holds. Returns the rows folded. */
export async function foldQueued(db: DbOrTx): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await fold(db, chunk(sql`true`, true));
    total += n;
    if (n === 0) return total;
  }
}

/** How soon after a write the background fold runs: writes in between are folded together. */
const FOLD_DELAY_MS = 1000;
type FoldState = { timer: NodeJS.Timeout | null; running: Promise<void> | null; again: boolean };
/** Per database handle (tests open several in one process). */
const foldStates = ((globalThis as Record<symbol, unknown>)[Symbol.for("cairn.rollupFolds")] ??= new WeakMap()) as WeakMap<object, FoldState>;

function stateOf(db: Db): FoldState {
  let state = foldStates.get(db);
  if (!state) foldStates.set(db, (state = { timer: null, running: null, again: false }));
  return state;
}

/** After a write queued points: a background fold within FOLD_DELAY_MS (one per process and database at a time). */
export function scheduleFold(db: Db): void {
  const state = stateOf(db);
  if (state.timer || state.running) {
    state.again = true; // folded by the run after the current one
    return;
  }
  state.timer = setTimeout(() => {
    state.timer = null;
    state.running = (async () => {
      try {
        if (!isClosed(db)) await foldQueued(db);
      } catch (err) {
        if (!isClosed(db)) log.warn("folding queued metric points into the chart rollups failed; the next write or read folds them", { err });
      } finally {
        state.running = null;
        if (state.again) {
          state.again = false;
          scheduleFold(db);
        }
      }
    })();
  }, FOLD_DELAY_MS);
  state.timer.unref();
}
