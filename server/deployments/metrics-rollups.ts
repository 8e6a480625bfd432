// A deployment's traffic from Cairn's own per-minute rollups (inference_minutes, plus this process's minutes not
// yet written): as series over a window, one point per step (a whole number of minutes), the point at t covering
// [t, t + step) and the step in progress a rate over the seconds gone so far; or as totals over a span of minutes.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { MetricsSeries, MetricsPoint } from "@/lib/schemas/deployments";
import { LATENCY_BUCKETS_MS, pendingCells, quantileFromBuckets } from "../observability/inference-rollups";

export type RollupQuery = {
  deploymentId: string;
  /** The deployment's own version: what its unwritten minutes without an explicit version stand for. */
  deploymentVersion: number;
  /** Only the answers of this model version (all versions when omitted). */
  version?: number;
  /** Unix seconds, multiples of `step`; `step` a multiple of 60. */
  start: number;
  end: number;
  step: number;
  /** Before this (unix seconds) the deployment did not exist: its points are null, not 0. */
  since: number;
  now?: number;
};

type Acc = { requests: number; errors: number; buckets: number[] };
export type RollupTotals = { requests: number; errors5xx: number; errors4xx: number; buckets: number[] };

/**
 * Every answer of the minutes from `from` up to (not including) `to` (unix seconds, whole minutes), summed: for
 * alert rules, which look at one span rather than a series.
 */
export async function rollupTotals(db: DbOrTx, q: { deploymentId: string; deploymentVersion: number; version?: number; from: number; to: number }): Promise<RollupTotals> {
  const versionFilter = q.version === undefined ? sql`` : sql`and version = ${q.version}`;
  const where = sql`deployment_id = ${q.deploymentId} and minute >= ${new Date(q.from * 1000).toISOString()}::timestamptz and minute < ${new Date(q.to * 1000).toISOString()}::timestamptz ${versionFilter}`;
  const totals = (await db.execute(sql`
    select coalesce(sum(requests), 0)::bigint as requests, coalesce(sum(errors_5xx), 0)::bigint as e5, coalesce(sum(errors_4xx), 0)::bigint as e4
    from inference_minutes where ${where}`)) as unknown as { rows: { requests: string | number; e5: string | number; e4: string | number }[] };
  const buckets = (await db.execute(sql`
    select u.i::int as i, sum(u.n)::bigint as n from inference_minutes m, unnest(m.latency_buckets) with ordinality as u(n, i)
    where ${where} group by 1`)) as unknown as { rows: { i: number; n: string | number }[] };
  const out: RollupTotals = { requests: Number(totals.rows[0]?.requests ?? 0), errors5xx: Number(totals.rows[0]?.e5 ?? 0), errors4xx: Number(totals.rows[0]?.e4 ?? 0), buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) };
  for (const r of buckets.rows) if (r.i >= 1 && r.i <= out.buckets.length) out.buckets[r.i - 1]! += Number(r.n);
  for (const c of pendingCells(q.deploymentId)) {
    const minute = c.minute / 1000;
    if (minute < q.from || minute >= q.to) continue;
    if (q.version !== undefined && (c.version ?? q.deploymentVersion) !== q.version) continue;
    out.requests += c.requests;
    out.errors5xx += c.errors5xx;
    out.errors4xx += c.errors4xx;
    c.buckets.forEach((n, i) => (out.buckets[i]! += n));
  }
  return out;
}

export async function rollupSeries(db: DbOrTx, q: RollupQuery): Promise<MetricsSeries> {
  const now = q.now ?? Date.now() / 1000;
  const versionFilter = q.version === undefined ? sql`` : sql`and version = ${q.version}`;
  const from = new Date(q.start * 1000).toISOString();
  const to = new Date((q.end + q.step) * 1000).toISOString();
  const slot = sql`(floor(extract(epoch from minute) / ${q.step}) * ${q.step})::bigint`;
  const totals = (await db.execute(sql`
    select ${slot} as t, sum(requests)::bigint as requests, sum(errors_5xx)::bigint as errors
    from inference_minutes
    where deployment_id = ${q.deploymentId} and minute >= ${from}::timestamptz and minute < ${to}::timestamptz ${versionFilter}
    group by 1`)) as unknown as { rows: { t: string | number; requests: string | number; errors: string | number }[] };
  const buckets = (await db.execute(sql`
    select m.t, u.i::int as i, sum(u.n)::bigint as n
    from (select ${slot} as t, latency_buckets from inference_minutes
          where deployment_id = ${q.deploymentId} and minute >= ${from}::timestamptz and minute < ${to}::timestamptz ${versionFilter}) m,
      unnest(m.latency_buckets) with ordinality as u(n, i)
    group by 1, 2`)) as unknown as { rows: { t: string | number; i: number; n: string | number }[] };

  const bySlot = new Map<number, Acc>();
  const acc = (t: number): Acc => {
    let a = bySlot.get(t);
    if (!a) bySlot.set(t, (a = { requests: 0, errors: 0, buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) }));
    return a;
  };
  for (const r of totals.rows) {
    const a = acc(Number(r.t));
    a.requests += Number(r.requests);
    a.errors += Number(r.errors);
  }
  for (const r of buckets.rows) {
    const a = acc(Number(r.t));
    if (r.i >= 1 && r.i <= a.buckets.length) a.buckets[r.i - 1]! += Number(r.n);
  }
  for (const c of pendingCells(q.deploymentId)) {
    const minute = c.minute / 1000;
    if (minute < q.start || minute >= q.end + q.step) continue;
    if (q.version !== undefined && (c.version ?? q.deploymentVersion) !== q.version) continue;
    const a = acc(Math.floor(minute / q.step) * q.step);
    a.requests += c.requests;
    a.errors += c.errors5xx;
    c.buckets.forEach((n, i) => (a.buckets[i]! += n));
  }

  const round = (v: number | null, digits: number) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);
  const series: MetricsSeries = { requests_per_second: [], latency_p50_ms: [], latency_p95_ms: [], latency_p99_ms: [], error_rate: [] };
  const push = (t: number, values: [number | null, number | null, number | null, number | null, number | null]) => {
    const keys = ["requests_per_second", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "error_rate"] as const;
    keys.forEach((k, i) => series[k].push([t, values[i]!] as MetricsPoint));
  };
  for (let t = q.start; t <= q.end; t += q.step) {
    if (t + q.step <= q.since) {
      push(t, [null, null, null, null, null]);
      continue;
    }
    const a = bySlot.get(t);
    const n = a?.requests ?? 0;
    // The step in progress holds only the seconds gone so far.
    const seconds = Math.min(q.step, Math.max(1, now - t));
    const quantile = (p: number) => (a && n > 0 ? round(quantileFromBuckets(a.buckets, p), 2) : null);
    push(t, [round(n / seconds, 3), quantile(0.5), quantile(0.95), quantile(0.99), n > 0 ? round(Math.min(1, a!.errors / n), 4) : null]);
  }
  return series;
}
