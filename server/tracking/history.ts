// Metric history: full pages (MLflow's get-history) and a downsampled view for charts that keeps
// every bucket's first, last, minimum and maximum point (M4), so spikes survive at any zoom.
import { and, asc, eq, gte, lte, sql } from "drizzle-orm";
import { metrics } from "@/db/schema";
import type { Ctx } from "../context";
import { loadRun } from "./access";
import type { MetricDto } from "./dto";
import { metricDto } from "./dto";
import { decodeOffset, encodeOffset } from "./experiments";

export async function getMetricHistory(
  ctx: Ctx,
  input: { run_id: string; metric_key: string; max_results: number; page_token?: string },
): Promise<{ metrics: MetricDto[]; next_page_token?: string }> {
  await loadRun(ctx, input.run_id, { mode: "read" });
  const offset = decodeOffset(input.page_token);
  const rows = await ctx.db
    .select({ key: metrics.key, value: metrics.value, timestamp: metrics.timestamp, step: metrics.step })
    .from(metrics)
    .where(and(eq(metrics.runId, input.run_id), eq(metrics.key, input.metric_key)))
    .orderBy(asc(metrics.step), asc(metrics.timestamp))
    .limit(input.max_results + 1)
    .offset(offset);
  return {
    metrics: rows.slice(0, input.max_results).map(metricDto),
    ...(rows.length > input.max_results ? { next_page_token: encodeOffset(offset + input.max_results) } : {}),
  };
}

export type SampledHistory = { key: string; total_points: number; sampled: boolean; metrics: MetricDto[] };

export async function getSampledHistory(
  ctx: Ctx,
  input: { run_id: string; metric_key: string; max_points: number; start_step?: number; end_step?: number },
): Promise<SampledHistory> {
  await loadRun(ctx, input.run_id, { mode: "read" });
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
