// Rows written off the request path, in batches: a request hands its row(s) (or the work that will produce them)
// to a writer and returns; a timer writes what is queued a few hundred milliseconds later, one INSERT per batch,
// per database. The queue is bounded in rows (per database) and optionally in bytes (overall): rows beyond are
// dropped and counted rather than growing memory without bound. A batch the database refuses is logged and
// dropped (the figures built on it then miss those rows). The split request log and the inference log use it.
// State lives in a globalThis registry by name, so every bundle of the process shares one queue per writer.
import type { Db } from "@/db/client";
import { log } from "./observability/log";

export type BatchLimits = { rows: number; bytes: number };

export type BatchWriterOptions<R> = {
  /** Registry name (one queue per name in the process). */
  name: string;
  /** What a row is, for log lines ("split request log rows"). */
  what: string;
  insert: (db: Db, rows: R[]) => Promise<unknown>;
  /** Rows per INSERT. */
  batch?: number;
  /** Wait before writing what was queued. */
  flushMs?: number;
  limits: BatchLimits;
  /** Roughly the bytes a row holds in the queue (the byte bound counts these); 0 when not given. */
  sizeOf?: (row: R) => number;
};

export type BatchWriter<R> = {
  /** Queues rows for `db`; answers how many of them were dropped because the queue was full. */
  push(db: Db, rows: R[]): number;
  /** Work off the request path that will push rows: flush() waits for it first. */
  track(job: Promise<unknown>): void;
  /** Writes everything queued (and everything tracked work queues); tests call it to read what was recorded. */
  flush(): Promise<void>;
  /** Sets the bounds (tests use small ones); answers the previous ones. */
  setLimits(limits: BatchLimits): BatchLimits;
  /** Rows dropped because the queue was full, since the process started. */
  dropped(): number;
};

type State<R> = { queue: Map<Db, R[]>; bytes: number; dropped: number; limits: BatchLimits; timer: NodeJS.Timeout | null; flushing: Promise<void> | null; pending: Set<Promise<unknown>> };

export function createBatchWriter<R>(opts: BatchWriterOptions<R>): BatchWriter<R> {
  const batch = opts.batch ?? 500;
  const flushMs = opts.flushMs ?? 250;
  const sizeOf = opts.sizeOf ?? (() => 0);
  const key = Symbol.for(`cairn.batchWriter.${opts.name}`);
  const globals = globalThis as unknown as Record<symbol, State<R> | undefined>;
  const state = (): State<R> => (globals[key] ??= { queue: new Map(), bytes: 0, dropped: 0, limits: opts.limits, timer: null, flushing: null, pending: new Set() });

  const schedule = (s: State<R>) => {
    if (s.timer) return;
    s.timer = setTimeout(() => {
      s.timer = null;
      void flush();
    }, flushMs);
    s.timer.unref?.();
  };

  async function flush(): Promise<void> {
    const s = state();
    await Promise.all([...s.pending]);
    if (s.flushing) await s.flushing;
    s.flushing = (async () => {
      for (const [db, rows] of [...s.queue]) {
        s.queue.delete(db);
        s.bytes = Math.max(0, s.bytes - rows.reduce((a, r) => a + sizeOf(r), 0));
        for (let i = 0; i < rows.length; i += batch) {
          try {
            await opts.insert(db, rows.slice(i, i + batch));
          } catch (err) {
            // What the rows point at was deleted meanwhile, or the database is away: those rows go unrecorded.
            log.error(`writing ${Math.min(batch, rows.length - i)} ${opts.what} failed`, { err });
          }
        }
      }
    })();
    try {
      await s.flushing;
    } finally {
      s.flushing = null;
    }
  }

  return {
    push(db, rows) {
      const s = state();
      const queued = s.queue.get(db) ?? [];
      let dropped = 0;
      for (const row of rows) {
        const size = sizeOf(row);
        if (queued.length >= s.limits.rows || s.bytes + size > s.limits.bytes) {
          dropped++;
          continue;
        }
        s.bytes += size;
        queued.push(row);
      }
      s.dropped += dropped;
      if (queued.length > 0) {
        s.queue.set(db, queued);
        schedule(s);
      }
      return dropped;
    },
    track(job) {
      const s = state();
      const tracked = job.catch(() => undefined);
      s.pending.add(tracked);
      void tracked.finally(() => s.pending.delete(tracked));
    },
    flush,
    setLimits(limits) {
      const s = state();
      const previous = s.limits;
      s.limits = limits;
      return previous;
    },
    dropped: () => state().dropped,
  };
}
