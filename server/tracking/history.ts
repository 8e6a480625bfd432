// Metric history: full pages (MLflow's get-history) and a downsampled view for charts that keeps
// every bucket's first, last, minimum and maximum point (M4), so spikes survive at any zoom.
import { and, asc, eq, gte, inArray, lte, sql } from "drizzle-orm";
import { metricRollups, metrics } from "@/db/schema";
import type { Ctx, TxCtx } from "../context";
import { loadRun } from "./access";
import type { MetricDto } from "./dto";
import { metricDto } from "./dto";
import { RawJson } from "../http/raw-json";
import { decodeOffset } from "./experiments";
import { withStatementTimeout, withTeamSlot } from "./query-budget";
import { ROLLUP_LEVELS, foldQueuedRuns, rollupWidth } from "./rollups";

/**
 * A page of a metric's full history as the JSON text of MLflow's get-history answer, built by the database: points
 * in (step, timestamp, value) order, the page's end carried in the token as that key (keyset paging), so the
 * 40th page of a 1M-point metric costs what the first does instead of skipping 975,000 rows first.
 */
export async function getMetricHistory(
  ctx: Ctx,
  input: { run_id: string; metric_key: string; max_results: number; page_token?: string },
): Promise<RawJson> {
  const run = await loadRun(ctx, input.run_id, { mode: "read" });
  const from = decodeHistoryToken(input.page_token);
  const limit = input.max_results;
  const after = from.after
    ? sql`and (step, timestamp, value) > (${String(from.after[0])}::bigint, ${String(from.after[1])}::bigint, ${String(from.after[2])}::float8)`
    : sql``;
  const key = JSON.stringify(input.metric_key);
  const result = (await budgeted(ctx, run, (tx) => tx.db.execute(sql`
    with page as materialized (
      select step, timestamp, value from ${metrics}
      where run_id = ${input.run_id} and key = ${input.metric_key} ${after}
      order by step, timestamp, value
      limit ${limit + 1} offset ${from.offset}
    ), numbered as materialized (
      select step, timestamp, value, row_number() over (order by step, timestamp, value) as rn from page
    )
    select
      coalesce(string_agg('{"key":' || ${key}::text || ',"value":' || to_json(value)::text || ',"timestamp":' || timestamp || ',"step":' || step || '}', ',' order by rn) filter (where rn <= ${limit}), '') as body,
      count(*)::int as fetched,
      (select json_build_array(step, timestamp, value)::text from numbered where rn = ${limit}) as last
    from numbered
  `))) as unknown as { rows: { body: string; fetched: number | string; last: string | null }[] };
  const row = result.rows[0]!;
  const next = Number(row.fetched) > limit && row.last ? `,"next_page_token":${JSON.stringify(encodeHistoryToken(row.last))}` : "";
  return new RawJson(`{"metrics":[${row.body}]${next}}`);
}

type HistoryCursor = { after?: [number, number, string]; offset: number };

/** The key of a page's last point, as text the token carries: "NaN" and the infinities stay as PostgreSQL spells them. */
function encodeHistoryToken(last: string): string {
  const [step, timestamp, value] = JSON.parse(last) as [number, number, number | string];
  return Buffer.from(JSON.stringify({ after: [step, timestamp, String(value)] })).toString("base64url");
}

function decodeHistoryToken(token: string | undefined): HistoryCursor {
  if (!token) return { offset: 0 };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const after = (parsed as { after?: unknown } | undefined)?.after;
  if (Array.isArray(after) && after.length === 3) {
    const [step, timestamp, value] = after as unknown[];
    // Only the spelling this server issues (String of a double, or PostgreSQL's NaN/±Infinity): "1e999" would
    // overflow float8 in the query.
    const finite = typeof value === "string" && (["NaN", "Infinity", "-Infinity"].includes(value) || (Number.isFinite(Number(value)) && String(Number(value)) === value));
    if (Number.isSafeInteger(step) && Number.isSafeInteger(timestamp) && finite) return { after: [step as number, timestamp as number, value as string], offset: 0 };
  }
  // A token of the offset kind (what earlier versions issued) still pages on.
  return { offset: decodeOffset(token) };
}

/** A history read holds one of the team's query slots and runs under the statement timeout (query-budget.ts). */
function budgeted<T>(ctx: Ctx, run: { teamId: string; teamSlug: string }, fn: (tx: TxCtx) => Promise<T>): Promise<T> {
  return withTeamSlot({ id: run.teamId, slug: run.teamSlug }, "metric history read", () =>
    withStatementTimeout(ctx.db, "metric history read", (db) => fn({ ...ctx, db })));
}

export type SampledHistory = { key: string; total_points: number; sampled: boolean; metrics: MetricDto[] };

/** Above this many points in range, charts read the rollups instead of raw points. */
const RAW_SAMPLING_LIMIT = 50_000;
const TOP_LEVEL = ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!;

export async function getSampledHistory(
  ctx: Ctx,
  input: { run_id: string; metric_key: string; max_points: number; start_step?: number; end_step?: number },
): Promise<SampledHistory> {
  const run = await loadRun(ctx, input.run_id, { mode: "read" });
  return budgeted(ctx, run, async (tx) => {
    // The rollups read below hold every point written before this read once the run's queued points are folded:
    // inside the read's budget (the team's slot, the statement timeout), as the read's own work.
    await foldQueuedRuns(tx.db, [run]);
    return sampleHistory(tx, input);
  });
}

async function sampleHistory(
  ctx: TxCtx,
  input: { run_id: string; metric_key: string; max_points: number; start_step?: number; end_step?: number },
): Promise<SampledHistory> {
  const top = rollupWidth(TOP_LEVEL);
  const [estimate] = await ctx.db
    .select({ n: sql<number>`coalesce(sum(${metricRollups.n}), 0)::int`, lo: sql<number | null>`min(${metricRollups.firstStep})`, hi: sql<number | null>`max(${metricRollups.lastStep})` })
    .from(metricRollups)
    .where(and(
      eq(metricRollups.runId, input.run_id), eq(metricRollups.key, input.metric_key), eq(metricRollups.level, TOP_LEVEL),
      input.start_step !== undefined ? gte(metricRollups.bucket, Math.floor(input.start_step / top)) : undefined,
      input.end_step !== undefined ? lte(metricRollups.bucket, Math.floor(input.end_step / top)) : undefined,
    ));
  if (!estimate || Number(estimate.n) <= RAW_SAMPLING_LIMIT || estimate.lo === null || estimate.hi === null) return sampleRaw(ctx, input);
  const lo = input.start_step ?? Number(estimate.lo);
  const hi = input.end_step ?? Number(estimate.hi);
  return sampleRollups(ctx, input, lo, hi);
}

/** Merges the finest rollup level that keeps the read to a few thousand rows into display buckets. */
async function sampleRollups(
  ctx: TxCtx,
  input: { run_id: string; metric_key: string; max_points: number },
  lo: number,
  hi: number,
): Promise<SampledHistory> {
  const span = hi - lo + 1;
  const level = ROLLUP_LEVELS.find((l) => span / rollupWidth(l) <= 8 * input.max_points) ?? TOP_LEVEL;
  const width = rollupWidth(level);
  const rows = await ctx.db
    .select()
    .from(metricRollups)
    .where(and(
      eq(metricRollups.runId, input.run_id), eq(metricRollups.key, input.metric_key), eq(metricRollups.level, level),
      gte(metricRollups.bucket, Math.floor(lo / width)), lte(metricRollups.bucket, Math.floor(hi / width)),
    ))
    .orderBy(asc(metricRollups.bucket));
  const buckets = Math.max(1, Math.floor(input.max_points / 4));
  type P = { step: number; timestamp: number; value: number };
  const display = new Map<number, { first: P; last: P; min: P; max: P }>();
  let total = 0;
  for (const r of rows) {
    total += r.n;
    const i = Math.min(buckets - 1, Math.max(0, Math.floor(((r.firstStep - lo) * buckets) / span)));
    const first = { step: r.firstStep, timestamp: r.firstTimestamp, value: r.firstValue };
    const last = { step: r.lastStep, timestamp: r.lastTimestamp, value: r.lastValue };
    const min = { step: r.minStep, timestamp: r.minTimestamp, value: r.minValue };
    const max = { step: r.maxStep, timestamp: r.maxTimestamp, value: r.maxValue };
    const d = display.get(i);
    if (!d) { display.set(i, { first, last, min, max }); continue; }
    if (first.step < d.first.step || (first.step === d.first.step && first.timestamp < d.first.timestamp)) d.first = first;
    if (last.step > d.last.step || (last.step === d.last.step && last.timestamp > d.last.timestamp)) d.last = last;
    if (min.value < d.min.value) d.min = min;
    if (max.value > d.max.value) d.max = max;
  }
  const points = new Map<string, P>();
  for (const d of display.values()) {
    for (const p of [d.first, d.last, d.min, d.max]) {
      if (p.step >= lo && p.step <= hi) points.set(`${p.step}:${p.timestamp}:${p.value}`, p);
    }
  }
  const sorted = [...points.values()].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  return { key: input.metric_key, total_points: total, sampled: true, metrics: sorted.map((p) => metricDto({ key: input.metric_key, ...p })) };
}

async function sampleRaw(
  ctx: TxCtx,
  input: { run_id: string; metric_key: string; max_points: number; start_step?: number; end_step?: number },
): Promise<SampledHistory> {
  const where = and(
    eq(metrics.runId, input.run_id),
    eq(metrics.key, input.metric_key),
    input.start_step !== undefined ? gte(metrics.step, input.start_step) : undefined,
    input.end_step !== undefined ? lte(metrics.step, input.end_step) : undefined,
  );
  const [range] = await ctx.db
    .select({ n: sql<number>`count(*)::int`, lo: sql<number | null>`min(${metrics.step})`, hi: sql<number | null>`max(${metrics.step})` })
    .from(metrics)
    .where(where);
  const total = Number(range?.n ?? 0);
  if (total <= input.max_points || range?.lo === null || range?.hi === null || range === undefined) {
    const rows = await ctx.db
      .select({ key: metrics.key, value: metrics.value, timestamp: metrics.timestamp, step: metrics.step })
      .from(metrics)
      .where(where)
      .orderBy(asc(metrics.step), asc(metrics.timestamp));
    return { key: input.metric_key, total_points: total, sampled: false, metrics: rows.map(metricDto) };
  }
  const lo = Number(range.lo);
  const hi = Number(range.hi);
  const buckets = Math.max(1, Math.floor(input.max_points / 4));
  // Bucket by step; keep each bucket's first, last, min and max point (at most 4 per bucket).
  const result = (await ctx.db.execute(sql`
    with pts as (
      select step, timestamp, value,
        least(${buckets - 1}, floor((step - ${lo})::float8 * ${buckets} / greatest(${hi - lo + 1}, 1))::int) as b
      from ${metrics} where ${where}
    ), ranked as (
      select step, timestamp, value,
        row_number() over (partition by b order by step, timestamp) as r_first,
        row_number() over (partition by b order by step desc, timestamp desc) as r_last,
        row_number() over (partition by b order by value asc, step) as r_min,
        row_number() over (partition by b order by value desc, step) as r_max
      from pts
    )
    select step, timestamp, value from ranked
    where r_first = 1 or r_last = 1 or r_min = 1 or r_max = 1
    order by step, timestamp
  `)) as unknown as { rows: { step: string | number; timestamp: string | number; value: number | string }[] };
  return {
    key: input.metric_key,
    total_points: total,
    sampled: true,
    metrics: result.rows.map((r) => metricDto({ key: input.metric_key, step: Number(r.step), timestamp: Number(r.timestamp), value: Number(r.value) })),
  };
}

/** Logged points per metric key: the most any one of the given runs holds (from the rollups), so charts lead with curves. */
export async function historyPointCounts(ctx: Ctx, runIds: string[]): Promise<Record<string, number>> {
  const refs = await Promise.all(runIds.map((id) => loadRun(ctx, id, { mode: "read" })));
  if (runIds.length === 0) return {};
  await foldQueuedRuns(ctx.db, refs);
  const perRun = ctx.db
    .select({ key: metricRollups.key, n: sql<number>`sum(${metricRollups.n})`.as("n") })
    .from(metricRollups)
    .where(and(inArray(metricRollups.runId, runIds), eq(metricRollups.level, TOP_LEVEL)))
    .groupBy(metricRollups.runId, metricRollups.key)
    .as("per_run");
  const rows = await ctx.db
    .select({ key: perRun.key, n: sql<number>`max(${perRun.n})::int` })
    .from(perRun)
    .groupBy(perRun.key);
  return Object.fromEntries(rows.map((r) => [r.key, Number(r.n)]));
}
