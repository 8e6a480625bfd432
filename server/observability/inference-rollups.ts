// Cairn's own time series of the inference gateway: every answer is added, in memory, to its deployment's,
// model version's and minute's cell (requests, 5xx, 4xx, latency sum and a fixed-bucket latency histogram);
// a timer writes the cells to `inference_minutes` every few seconds and at shutdown. The write adds to what
// is stored, so two processes, or two flushes of one minute, sum up. Recording is a map lookup and a few
// additions: the database is never on a request's path.
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { log } from "./log";
import { startPeriodicFlush } from "./periodic-flush";
import type { PeriodicFlush } from "./periodic-flush";

/** Upper bounds (ms) of the latency buckets; a last bucket holds everything slower. Changing them needs a migration of the stored arrays. */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000];
/** How long rollups are kept (the longest window the metrics API answers). */
export const ROLLUP_RETENTION_DAYS = 30;
export const FLUSH_INTERVAL_MS = 10_000;
/** Cells kept in memory at most while the database cannot be written (a day of 100 busy deployments); beyond, answers are counted in Prometheus only. */
const MAX_CELLS = 150_000;
const ROWS_PER_STATEMENT = 500;

export type Cell = {
  deploymentId: string;
  /** Null: the deployment's own version (filled in from its row when written). */
  version: number | null;
  /** The minute's start, ms since the epoch. */
  minute: number;
  requests: number;
  errors5xx: number;
  errors4xx: number;
  latencyMsSum: number;
  buckets: number[];
};

type State = { cells: Map<string, Cell>; dropped: number; timer: PeriodicFlush | null; flushing: Promise<void> | null };
const globals = globalThis as unknown as { __cairnRollups?: State };
const state = (): State => (globals.__cairnRollups ??= { cells: new Map(), dropped: 0, timer: null, flushing: null });

/** The bucket an answer of `ms` falls in: the first whose upper bound is ≥ ms (binary search). */
export function bucketIndex(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKETS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= LATENCY_BUCKETS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The q-quantile (0–1) of a histogram of per-bucket counts, interpolated linearly inside its bucket as
 * Prometheus's histogram_quantile does; in the last (unbounded) bucket, the highest bound. Null without answers.
 */
export function quantileFromBuckets(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (n > 0 && below + n >= rank) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i]!;
      return lower + (upper - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}

const emptyBuckets = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);

/**
 * Counts one gateway answer: the deployment, the model version that answered (omitted: the deployment's own),
 * its HTTP status and how long the gateway took. `at` is when it was answered (ms; now by default).
 */
export function recordInference(answer: { deploymentId: string; version?: number | null; status: number; seconds: number }, at = Date.now()): void {
  const s = state();
  const minute = at - (at % 60_000);
  const version = answer.version ?? null;
  const key = `${answer.deploymentId} ${version ?? ""} ${minute}`;
  let cell = s.cells.get(key);
  if (!cell) {
    if (s.cells.size >= MAX_CELLS) {
      s.dropped++;
      return;
    }
    cell = { deploymentId: answer.deploymentId, version, minute, requests: 0, errors5xx: 0, errors4xx: 0, latencyMsSum: 0, buckets: emptyBuckets() };
    s.cells.set(key, cell);
  }
  const ms = answer.seconds * 1000;
  cell.requests++;
  if (answer.status >= 500) cell.errors5xx++;
  else if (answer.status >= 400) cell.errors4xx++;
  cell.latencyMsSum += ms;
  cell.buckets[bucketIndex(ms)]!++;
}

/** This process's cells not yet written, of one deployment (the metrics answer adds them, so the last minute is current). */
export function pendingCells(deploymentId: string): Cell[] {
  return [...state().cells.values()].filter((c) => c.deploymentId === deploymentId);
}

function merge(into: Map<string, Cell>, cells: Iterable<Cell>): void {
  for (const c of cells) {
    const key = `${c.deploymentId} ${c.version ?? ""} ${c.minute}`;
    const have = into.get(key);
    if (!have) {
      into.set(key, c);
      continue;
    }
    have.requests += c.requests;
    have.errors5xx += c.errors5xx;
    have.errors4xx += c.errors4xx;
    have.latencyMsSum += c.latencyMsSum;
    for (let i = 0; i < have.buckets.length; i++) have.buckets[i]! += c.buckets[i] ?? 0;
  }
}

/** One INSERT of up to ROWS_PER_STATEMENT cells, adding to rows already there. Cells of a deleted deployment are skipped. */
async function writeCells(db: DbOrTx, cells: Cell[]): Promise<void> {
  const values: SQL[] = cells.map((c) => sql`(${c.deploymentId}::uuid, ${c.version}::integer, ${new Date(c.minute).toISOString()}::timestamptz, ${c.requests}::integer,
    ${c.errors5xx}::integer, ${c.errors4xx}::integer, ${c.latencyMsSum}::double precision, ${`{${c.buckets.join(",")}}`}::integer[])`);
  await db.execute(sql`
    insert into inference_minutes (deployment_id, version, minute, requests, errors_5xx, errors_4xx, latency_ms_sum, latency_buckets)
    select v.deployment_id, coalesce(v.version, d.version), v.minute, v.requests, v.errors_5xx, v.errors_4xx, v.latency_ms_sum, v.latency_buckets
    from (values ${sql.join(values, sql`, `)}) as v(deployment_id, version, minute, requests, errors_5xx, errors_4xx, latency_ms_sum, latency_buckets)
    join deployments d on d.id = v.deployment_id
    on conflict (deployment_id, minute, version) do update set
      requests = inference_minutes.requests + excluded.requests,
      errors_5xx = inference_minutes.errors_5xx + excluded.errors_5xx,
      errors_4xx = inference_minutes.errors_4xx + excluded.errors_4xx,
      latency_ms_sum = inference_minutes.latency_ms_sum + excluded.latency_ms_sum,
      latency_buckets = (select array_agg(coalesce(a, 0) + coalesce(b, 0) order by i)
        from unnest(inference_minutes.latency_buckets, excluded.latency_buckets) with ordinality as u(a, b, i))`);
}

/**
 * Writes every cell counted so far and forgets them. A deployment's own version and a version passed explicitly
 * can name the same row: those cells are written in separate statements so one statement never updates a row twice.
 * When the write fails, the cells are kept for the next flush (and the error thrown).
 */
export async function flushInferenceRollups(db: Db): Promise<number> {
  const s = state();
  // One flush at a time: a second caller waits for the running one, then writes what arrived since.
  while (s.flushing) await s.flushing;
  if (s.cells.size === 0) return 0;
  const taken = s.cells;
  s.cells = new Map();
  const implicit = [...taken.values()].filter((c) => c.version === null);
  const explicit = [...taken.values()].filter((c) => c.version !== null);
  let written = 0;
  const run = (async () => {
    for (const group of [explicit, implicit]) {
      for (let i = 0; i < group.length; i += ROWS_PER_STATEMENT) {
        const chunk = group.slice(i, i + ROWS_PER_STATEMENT);
        await writeCells(db, chunk);
        written += chunk.length;
        for (const c of chunk) taken.delete(`${c.deploymentId} ${c.version ?? ""} ${c.minute}`);
      }
    }
  })();
  s.flushing = run.then(() => undefined, () => undefined);
  try {
    await run;
  } catch (err) {
    // What was not written goes back, added to what arrived meanwhile.
    merge(s.cells, taken.values());
    throw err;
  } finally {
    s.flushing = null;
  }
  if (s.dropped > 0) {
    log.error(`metrics: ${s.dropped} gateway answers were not added to the per-minute rollups (too many unwritten minutes); Prometheus still counted them`);
    s.dropped = 0;
  }
  return written;
}

/** Deletes rollups older than ROLLUP_RETENTION_DAYS. Returns how many rows went. */
export async function pruneInferenceRollups(db: DbOrTx, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - ROLLUP_RETENTION_DAYS * 86_400_000);
  const result = await db.execute(sql`delete from inference_minutes where minute < ${before.toISOString()}::timestamptz`);
  // node-postgres says rowCount, PGlite affectedRows.
  const r = result as unknown as { rowCount?: number | null; affectedRows?: number };
  return Number(r.rowCount ?? r.affectedRows ?? 0);
}

/**
 * Start-up: flush every FLUSH_INTERVAL_MS, and once more when the process is told to stop (Next.js closes its
 * server and exits after SIGTERM/SIGINT; the write usually wins that race, a lost one costs the last seconds).
 */
export function startInferenceRollups(db: Db, intervalMs = FLUSH_INTERVAL_MS): void {
  const s = state();
  if (s.timer) return;
  s.timer = startPeriodicFlush(() => flushInferenceRollups(db).catch((err: unknown) => log.error("metrics: writing the gateway's per-minute rollups failed (kept for the next try)", { err })), intervalMs);
}

/** Tests: forget every unwritten cell and stop the timer. */
export function resetInferenceRollups(): void {
  const s = state();
  s.timer?.stop();
  globals.__cairnRollups = undefined;
}
