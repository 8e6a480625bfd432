// The Platform page's figures from Cairn's own rollups: API requests per minute (api_request_minutes plus this
// process's minutes not yet written), the queue and active users sampled each minute (platform_minutes), and
// queue waits from the jobs themselves. A point at t covers [t, t + step); the step in progress is a rate over
// the seconds gone so far.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { MetricsPoint as Point, MetricsSeries } from "@/lib/schemas/deployments";
import type { EndpointRow, PlatformHealth } from "@/lib/schemas/platform";
import { pendingApiCells } from "../observability/api-rollups";
import { LATENCY_BUCKETS_MS, quantileFromBuckets } from "../observability/inference-rollups";

export type Range = { start: number; end: number; step: number; now?: number };
type Acc = { requests: number; errors: number; clientErrors: number; buckets: number[] };

const newAcc = (): Acc => ({ requests: 0, errors: 0, clientErrors: 0, buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) });
const round = (v: number | null, digits: number) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);
const iso = (unix: number) => new Date(unix * 1000).toISOString();
type Rows<T> = { rows: T[] };
const quantiles = (a: Acc) => ({
  latency_p50_ms: round(quantileFromBuckets(a.buckets, 0.5), 2),
  latency_p95_ms: round(quantileFromBuckets(a.buckets, 0.95), 2),
  latency_p99_ms: round(quantileFromBuckets(a.buckets, 0.99), 2),
});

/** Request rate, latency percentiles and 5xx share of the whole API per step, the window's totals and its busiest endpoints. */
export async function apiFromRollups(db: DbOrTx, r: Range): Promise<PlatformHealth["api"]> {
  const now = r.now ?? Date.now() / 1000;
  return apiFromCells(await storedCells(db, r), r, now);
}

export type StoredCell = { t: number; endpoint: string; method: string; requests: number; errors: number; clientErrors: number; buckets: number[] };

/** The stored minutes of the range, summed per step, endpoint and method. */
async function storedCells(db: DbOrTx, r: Range): Promise<StoredCell[]> {
  const slot = sql`(floor(extract(epoch from minute) / ${r.step}) * ${r.step})::bigint`;
  const where = sql`minute >= ${iso(r.start)}::timestamptz and minute < ${iso(r.end + r.step)}::timestamptz`;
  const totals = (await db.execute(sql`
    select ${slot} as t, endpoint, method, sum(requests)::bigint as requests, sum(errors)::bigint as errors,
      sum(case when status_class = '4xx' then requests else 0 end)::bigint as client_errors
    from api_request_minutes where ${where} group by 1, 2, 3`)) as unknown as Rows<{ t: string | number; endpoint: string; method: string; requests: string | number; errors: string | number; client_errors: string | number }>;
  const buckets = (await db.execute(sql`
    select m.t, m.endpoint, m.method, u.i::int as i, sum(u.n)::bigint as n
    from (select ${slot} as t, endpoint, method, latency_buckets from api_request_minutes where ${where}) m,
      unnest(m.latency_buckets) with ordinality as u(n, i)
    group by 1, 2, 3, 4`)) as unknown as Rows<{ t: string | number; endpoint: string; method: string; i: number; n: string | number }>;
  const cells = new Map<string, StoredCell>();
  const key = (t: number, endpoint: string, method: string) => `${t} ${method} ${endpoint}`;
  for (const row of totals.rows) {
    const t = Number(row.t);
    cells.set(key(t, row.endpoint, row.method), {
      t, endpoint: row.endpoint, method: row.method, requests: Number(row.requests), errors: Number(row.errors), clientErrors: Number(row.client_errors),
      buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
    });
  }
  for (const row of buckets.rows) {
    const c = cells.get(key(Number(row.t), row.endpoint, row.method));
    if (c && row.i >= 1 && row.i <= c.buckets.length) c.buckets[row.i - 1]! += Number(row.n);
  }
  // Plus what this process counted and has not written yet.
  for (const p of pendingApiCells()) {
    const minute = p.minute / 1000;
    if (minute < r.start || minute >= r.end + r.step) continue;
    const t = Math.floor(minute / r.step) * r.step;
    const k = key(t, p.endpoint, p.method);
    let c = cells.get(k);
    if (!c) cells.set(k, (c = { t, endpoint: p.endpoint, method: p.method, requests: 0, errors: 0, clientErrors: 0, buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) }));
    c.requests += p.requests;
    c.errors += p.errors;
    if (p.statusClass === "4xx") c.clientErrors += p.requests;
    p.buckets.forEach((n, i) => (c.buckets[i]! += n));
  }
  return [...cells.values()];
}

/** The arithmetic over summed cells, apart from the database (tests call it with cells of their own). */
export function apiFromCells(cells: StoredCell[], r: Range, now: number): PlatformHealth["api"] {
  const bySlot = new Map<number, Acc>();
  const byEndpoint = new Map<string, Acc & { endpoint: string; method: string }>();
  const total = newAcc();
  const add = (a: Acc, c: StoredCell) => {
    a.requests += c.requests;
    a.errors += c.errors;
    a.clientErrors += c.clientErrors;
    c.buckets.forEach((n, i) => (a.buckets[i]! += n));
  };
  for (const c of cells) {
    if (c.t < r.start || c.t > r.end) continue;
    let s = bySlot.get(c.t);
    if (!s) bySlot.set(c.t, (s = newAcc()));
    add(s, c);
    const k = `${c.method} ${c.endpoint}`;
    let e = byEndpoint.get(k);
    if (!e) byEndpoint.set(k, (e = { ...newAcc(), endpoint: c.endpoint, method: c.method }));
    add(e, c);
    add(total, c);
  }
  const series: MetricsSeries = { requests_per_second: [], latency_p50_ms: [], latency_p95_ms: [], latency_p99_ms: [], error_rate: [] };
  for (let t = r.start; t <= r.end; t += r.step) {
    const a = bySlot.get(t);
    const n = a?.requests ?? 0;
    const seconds = Math.min(r.step, Math.max(1, now - t));
    const q = a && n > 0 ? quantiles(a) : { latency_p50_ms: null, latency_p95_ms: null, latency_p99_ms: null };
    series.requests_per_second.push([t, round(n / seconds, 3)]);
    series.latency_p50_ms.push([t, q.latency_p50_ms]);
    series.latency_p95_ms.push([t, q.latency_p95_ms]);
    series.latency_p99_ms.push([t, q.latency_p99_ms]);
    series.error_rate.push([t, n > 0 ? round(Math.min(1, a!.errors / n), 4) : null]);
  }
  const windowSeconds = Math.max(1, Math.min(r.end + r.step, now) - r.start);
  const endpoints: EndpointRow[] = [...byEndpoint.values()]
    .sort((a, b) => b.requests - a.requests || a.endpoint.localeCompare(b.endpoint))
    .slice(0, 25)
    .map((e) => ({
      endpoint: e.endpoint, method: e.method, requests: e.requests, requests_per_second: round(e.requests / windowSeconds, 4)!,
      errors: e.errors, error_rate: e.requests > 0 ? round(e.errors / e.requests, 4) : null, client_errors: e.clientErrors, ...quantiles(e),
    }));
  return {
    requests: total.requests, errors: total.errors, error_rate: total.requests > 0 ? round(total.errors / total.requests, 4) : null,
    ...quantiles(total), series, endpoints,
  };
}

/** Queue depth, oldest wait and active users per step (the highest sample in the step; null where none was taken), and waits of jobs started in the window. */
export async function queueAndUsersFromRollups(db: DbOrTx, r: Range): Promise<{ queue: PlatformHealth["queue"]["series"] & { started: number; mean: number | null; max: number | null }; users: Point[] }> {
  const slot = (col: string) => sql`(floor(extract(epoch from ${sql.raw(col)}) / ${r.step}) * ${r.step})::bigint`;
  const from = iso(r.start);
  const to = iso(r.end + r.step);
  const samples = (await db.execute(sql`
    select ${slot("minute")} as t, max(queue_depth)::int as depth, max(queue_oldest_wait_seconds)::float8 as oldest, max(active_users)::int as active
    from platform_minutes where minute >= ${from}::timestamptz and minute < ${to}::timestamptz group by 1`)) as unknown as Rows<{ t: string | number; depth: number; oldest: number; active: number }>;
  const waits = (await db.execute(sql`
    select ${slot("started_at")} as t, count(*)::int as n, sum(extract(epoch from (started_at - queued_at)))::float8 as total, max(extract(epoch from (started_at - queued_at)))::float8 as max
    from jobs where started_at >= ${from}::timestamptz and started_at < ${to}::timestamptz group by 1`)) as unknown as Rows<{ t: string | number; n: number; total: number; max: number }>;
  const bySample = new Map(samples.rows.map((s) => [Number(s.t), s]));
  const byWait = new Map(waits.rows.map((w) => [Number(w.t), w]));
  const depth: Point[] = [];
  const oldest: Point[] = [];
  const mean: Point[] = [];
  const users: Point[] = [];
  let started = 0;
  let sum = 0;
  let max: number | null = null;
  for (let t = r.start; t <= r.end; t += r.step) {
    const s = bySample.get(t);
    depth.push([t, s ? Number(s.depth) : null]);
    oldest.push([t, s ? round(Math.max(0, Number(s.oldest)), 1) : null]);
    users.push([t, s ? Number(s.active) : null]);
    const w = byWait.get(t);
    mean.push([t, w && Number(w.n) > 0 ? round(Math.max(0, Number(w.total)) / Number(w.n), 1) : null]);
    if (w) {
      started += Number(w.n);
      sum += Math.max(0, Number(w.total));
      max = Math.max(max ?? 0, Number(w.max));
    }
  }
  return {
    queue: { depth, oldest_wait_seconds: oldest, wait_mean_seconds: mean, started, mean: started > 0 ? round(sum / started, 1) : null, max: max === null ? null : round(Math.max(0, max), 1) },
    users,
  };
}
