// Metric rollups: per step bucket (width 64·16^level), the first, last, min and max finite point.
// Folded in with every batch (only points actually inserted, see metric-write.ts), rebuilt after bulk
// loads, read by the sampled history and the charts. Three levels (64, 1,024 and 16,384 steps a bucket):
// every level costs each batch one upsert per key, and a fourth (262,144) saved reads only on series of
// more than 100 million steps.
import { inArray, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { metricRollups } from "@/db/schema";

export const ROLLUP_LEVELS = [0, 1, 2] as const;
export const rollupWidth = (level: number): number => 64 * 16 ** level;

export const ROLLUP_COLUMNS = sql`(run_id, key, level, bucket, n, first_step, first_timestamp, first_value, last_step, last_timestamp,
  last_value, min_step, min_timestamp, min_value, max_step, max_timestamp, max_value)`;

/**
 * Rollup rows aggregated from `source` (a relation with run_id, key, step, timestamp, value), in key,
 * level, bucket order so concurrent writers take row locks in the same order and never deadlock.
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
    order by key, lvl, b`;
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

export type RollupPoint = { key: string; value: number; step: number; timestamp: number };
export type RollupAgg<P extends RollupPoint = RollupPoint> = { key: string; level: number; bucket: number; n: number; first: P; last: P; min: P; max: P };

const before = (a: RollupPoint, b: RollupPoint) => a.step < b.step || (a.step === b.step && a.timestamp < b.timestamp);

/** The rollup rows of `points` (non-finite values skipped), sorted by key, level and bucket. */
export function aggregateRollups<P extends RollupPoint>(points: P[]): RollupAgg<P>[] {
  const aggs = new Map<string, RollupAgg<P>>();
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue; // NaN and ±Infinity are not plotted
    for (const level of ROLLUP_LEVELS) {
      const bucket = Math.floor(p.step / rollupWidth(level));
      const id = `${p.key}\u0000${level}\u0000${bucket}`;
      const a = aggs.get(id);
      if (!a) {
        aggs.set(id, { key: p.key, level, bucket, n: 1, first: p, last: p, min: p, max: p });
        continue;
      }
      a.n++;
      if (before(p, a.first)) a.first = p;
      if (before(a.last, p)) a.last = p;
      if (p.value < a.min.value) a.min = p;
      if (p.value > a.max.value) a.max = p;
    }
  }
  // Sorted, so concurrent writers take row locks in the same order and never deadlock.
  return [...aggs.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.level - b.level || a.bucket - b.bucket));
}

/** Recomputes the rollups of the given runs from their raw history (bulk loads bypass the write path). */
export async function rebuildRollups(db: DbOrTx, runIds: string[]): Promise<void> {
  if (runIds.length === 0) return;
  await db.delete(metricRollups).where(inArray(metricRollups.runId, runIds));
  const source = sql`(select run_id, key, step, timestamp, value from metrics where run_id in (${sql.join(runIds.map((id) => sql`${id}`), sql`, `)}))`;
  await db.execute(sql`insert into ${metricRollups} ${ROLLUP_COLUMNS} ${rollupRowsFrom(source)}`);
}
