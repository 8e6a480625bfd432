// Cairn's own time series of its API: every request the route wrapper answers is added, in memory, to its
// minute's cell (endpoint template, method, status class: requests, 5xx, latency sum and a fixed-bucket latency
// histogram); a timer writes the cells to `api_request_minutes` every few seconds and at shutdown, adding to what
// is stored, so processes and flushes sum up. The database is never on a request's path.
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { LATENCY_BUCKETS_MS, ROLLUP_RETENTION_DAYS, bucketIndex } from "./inference-rollups";
import { log } from "./log";
import { startPeriodicFlush } from "./periodic-flush";
import type { PeriodicFlush } from "./periodic-flush";

export const API_FLUSH_INTERVAL_MS = 10_000;
/** Distinct endpoint templates counted at most (a bug that labels by raw path cannot grow the table without bound). */
export const MAX_ENDPOINTS = 1_000;
/** Cells kept in memory at most while the database cannot be written; beyond, requests are counted in Prometheus only. */
const MAX_CELLS = 200_000;
const ROWS_PER_STATEMENT = 500;

export type StatusClass = "2xx" | "3xx" | "4xx" | "5xx";

export type ApiCell = {
  minute: number;
  endpoint: string;
  method: string;
  statusClass: StatusClass;
  requests: number;
  errors: number;
  latencyMsSum: number;
  buckets: number[];
};

type State = { cells: Map<string, ApiCell>; endpoints: Set<string>; templates: Map<string, string>; dropped: number; timer: PeriodicFlush | null; flushing: Promise<void> | null };
const KEY = Symbol.for("cairn.apiRollups");
const globals = globalThis as unknown as Record<symbol, State | undefined>;
const state = (): State => (globals[KEY] ??= { cells: new Map(), endpoints: new Set(), templates: new Map(), dropped: 0, timer: null, flushing: null });

// A path segment that names one object rather than a kind of thing: a UUID, a long hex or base-36 id, a number,
// an MLflow logged-model id. Route wrappers pass patterns ("/api/v1/jobs/[id]"); this is the guard behind them.
const ID_SEGMENT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|\d+|m-[0-9a-f]{32}|cairn_[A-Za-z0-9]+)$/i;

/** The endpoint as stored: its query string dropped and every segment that looks like an id replaced by "[id]". */
export function endpointTemplate(endpoint: string): string {
  const path = endpoint.split("?")[0]!.slice(0, 200);
  return path.split("/").map((segment) => (ID_SEGMENT.test(segment) ? "[id]" : segment)).join("/") || "/";
}

export function statusClass(status: number): StatusClass {
  if (status >= 500) return "5xx";
  if (status >= 400) return "4xx";
  if (status >= 300) return "3xx";
  return "2xx";
}

const emptyBuckets = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
const keyOf = (c: Pick<ApiCell, "minute" | "endpoint" | "method" | "statusClass">) => `${c.minute} ${c.method} ${c.statusClass} ${c.endpoint}`;

/** Counts one API answer. `at` is when it was answered (ms; now by default). */
export function recordApiRequest(request: { endpoint: string; method: string; status: number; seconds: number }, at = Date.now()): void {
  const s = state();
  // Route patterns repeat: each is templated once.
  let endpoint = s.templates.get(request.endpoint) ?? endpointTemplate(request.endpoint);
  if (s.templates.size < 2 * MAX_ENDPOINTS) s.templates.set(request.endpoint, endpoint);
  if (!s.endpoints.has(endpoint)) {
    if (s.endpoints.size >= MAX_ENDPOINTS) endpoint = "[other]";
    else s.endpoints.add(endpoint);
  }
  const minute = at - (at % 60_000);
  const cls = statusClass(request.status);
  const method = request.method.toUpperCase().slice(0, 10);
  const key = keyOf({ minute, endpoint, method, statusClass: cls });
  let cell = s.cells.get(key);
  if (!cell) {
    if (s.cells.size >= MAX_CELLS) {
      s.dropped++;
      return;
    }
    cell = { minute, endpoint, method, statusClass: cls, requests: 0, errors: 0, latencyMsSum: 0, buckets: emptyBuckets() };
    s.cells.set(key, cell);
  }
  const ms = Math.max(0, request.seconds * 1000);
  cell.requests++;
  if (cls === "5xx") cell.errors++;
  cell.latencyMsSum += ms;
  cell.buckets[bucketIndex(ms)]!++;
}

/** This process's cells not yet written (the Platform page adds them, so the last minute is current). */
export function pendingApiCells(): ApiCell[] {
  return [...state().cells.values()];
}

function merge(into: Map<string, ApiCell>, cells: Iterable<ApiCell>): void {
  for (const c of cells) {
    const have = into.get(keyOf(c));
    if (!have) {
      into.set(keyOf(c), c);
      continue;
    }
    have.requests += c.requests;
    have.errors += c.errors;
    have.latencyMsSum += c.latencyMsSum;
    for (let i = 0; i < have.buckets.length; i++) have.buckets[i]! += c.buckets[i] ?? 0;
  }
}

async function writeCells(db: DbOrTx, cells: ApiCell[]): Promise<void> {
  const values: SQL[] = cells.map((c) => sql`(${new Date(c.minute).toISOString()}::timestamptz, ${c.endpoint}::text, ${c.method}::text, ${c.statusClass}::text,
    ${c.requests}::integer, ${c.errors}::integer, ${c.latencyMsSum}::double precision, ${`{${c.buckets.join(",")}}`}::integer[])`);
  await db.execute(sql`
    insert into api_request_minutes (minute, endpoint, method, status_class, requests, errors, latency_ms_sum, latency_buckets)
    values ${sql.join(values, sql`, `)}
    on conflict (minute, endpoint, method, status_class) do update set
      requests = api_request_minutes.requests + excluded.requests,
      errors = api_request_minutes.errors + excluded.errors,
      latency_ms_sum = api_request_minutes.latency_ms_sum + excluded.latency_ms_sum,
      latency_buckets = (select array_agg(coalesce(a, 0) + coalesce(b, 0) order by i)
        from unnest(api_request_minutes.latency_buckets, excluded.latency_buckets) with ordinality as u(a, b, i))`);
}

/** Writes every cell counted so far and forgets them; on failure they are kept for the next flush (and the error thrown). */
export async function flushApiRollups(db: Db): Promise<number> {
  const s = state();
  while (s.flushing) await s.flushing;
  if (s.cells.size === 0) return 0;
  const taken = s.cells;
  s.cells = new Map();
  const cells = [...taken.values()];
  let written = 0;
  const run = (async () => {
    for (let i = 0; i < cells.length; i += ROWS_PER_STATEMENT) {
      const chunk = cells.slice(i, i + ROWS_PER_STATEMENT);
      await writeCells(db, chunk);
      written += chunk.length;
      for (const c of chunk) taken.delete(keyOf(c));
    }
  })();
  s.flushing = run.then(() => undefined, () => undefined);
  try {
    await run;
  } catch (err) {
    merge(s.cells, taken.values());
    throw err;
  } finally {
    s.flushing = null;
  }
  if (s.dropped > 0) {
    log.error(`metrics: ${s.dropped} API requests were not added to the per-minute rollups (too many unwritten minutes); Prometheus still counted them`);
    s.dropped = 0;
  }
  return written;
}

/** Deletes API and platform rollups older than ROLLUP_RETENTION_DAYS. Returns how many rows went. */
export async function prunePlatformRollups(db: DbOrTx, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - ROLLUP_RETENTION_DAYS * 86_400_000).toISOString();
  let n = 0;
  for (const table of [sql`api_request_minutes`, sql`platform_minutes`]) {
    const result = (await db.execute(sql`delete from ${table} where minute < ${before}::timestamptz`)) as unknown as { rowCount?: number | null; affectedRows?: number };
    n += Number(result.rowCount ?? result.affectedRows ?? 0);
  }
  return n;
}

/** Start-up: flush every API_FLUSH_INTERVAL_MS, and once more when the process is told to stop. */
export function startApiRollups(db: Db, intervalMs = API_FLUSH_INTERVAL_MS): void {
  const s = state();
  if (s.timer) return;
  s.timer = startPeriodicFlush(() => flushApiRollups(db).catch((err: unknown) => log.error("metrics: writing the API's per-minute rollups failed (kept for the next try)", { err })), intervalMs);
}

/** Tests: forget every unwritten cell and stop the timer. */
export function resetApiRollups(): void {
  const s = state();
  s.timer?.stop();
  globals[KEY] = undefined;
}
