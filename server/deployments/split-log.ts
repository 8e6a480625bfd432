// The split request log's writer: the gateway hands each request a split served to `recordSplitRequest`,
// which only queues it; a timer writes the queue in batches (one INSERT per batch), so the answer never
// waits on the database. The prediction is read from a copy of the answer's body off the request path.
// A queue that cannot be written is dropped with a log line (figures then miss those requests) rather than
// growing without bound.
import type { Db } from "@/db/client";
import { splitRequestLog } from "@/db/schema";
import type { SplitVariant } from "@/db/schema";
import { firstPrediction } from "./split-quality";
import { log } from "../observability/log";

export type SplitRecord = {
  splitId: string;
  requestId: string;
  variant: SplitVariant;
  deploymentId: string;
  status: number;
  latencyMs: number;
  /** The answer: its body is read for the prediction (off the request path) when the status is 200. */
  answer?: { status: number; body: Uint8Array };
};

type Row = typeof splitRequestLog.$inferInsert;

const FLUSH_MS = 250;
const BATCH = 500;
const MAX_QUEUED = 50_000;
const MAX_BODY_BYTES = 1024 * 1024;

type Writer = { queue: Map<Db, Row[]>; timer: NodeJS.Timeout | null; flushing: Promise<void> | null; pending: Set<Promise<void>> };
const globals = globalThis as unknown as { __cairnSplitLog?: Writer };
const writer = (): Writer => (globals.__cairnSplitLog ??= { queue: new Map(), timer: null, flushing: null, pending: new Set() });

async function predictionOf(answer: SplitRecord["answer"]): Promise<Pick<Row, "prediction" | "predictionKind">> {
  if (!answer || answer.status !== 200) return { prediction: null, predictionKind: null };
  try {
    const bytes = answer.body;
    if (bytes.byteLength > MAX_BODY_BYTES) return { prediction: null, predictionKind: null };
    const found = firstPrediction(JSON.parse(new TextDecoder().decode(bytes)));
    return found ? { prediction: found.prediction, predictionKind: found.kind } : { prediction: null, predictionKind: null };
  } catch {
    return { prediction: null, predictionKind: null };
  }
}

function schedule(w: Writer): void {
  if (w.timer) return;
  w.timer = setTimeout(() => {
    w.timer = null;
    void flushSplitLog();
  }, FLUSH_MS);
  w.timer.unref?.();
}

/** Queues one request for the log; returns at once. */
export function recordSplitRequest(db: Db, r: SplitRecord): void {
  const w = writer();
  const at = new Date();
  const job = predictionOf(r.answer).then((p) => {
    const rows = w.queue.get(db) ?? [];
    if (rows.length >= MAX_QUEUED) return;
    rows.push({ splitId: r.splitId, requestId: r.requestId, variant: r.variant, deploymentId: r.deploymentId, status: r.status, latencyMs: r.latencyMs, at, ...p });
    w.queue.set(db, rows);
    schedule(w);
  });
  w.pending.add(job);
  void job.finally(() => w.pending.delete(job));
}

/** Writes everything queued (tests call it to read what the gateway recorded; the timer calls it otherwise). */
export async function flushSplitLog(): Promise<void> {
  const w = writer();
  await Promise.all([...w.pending]);
  if (w.flushing) await w.flushing;
  w.flushing = (async () => {
    for (const [db, rows] of [...w.queue]) {
      w.queue.delete(db);
      for (let i = 0; i < rows.length; i += BATCH) {
        try {
          await db.insert(splitRequestLog).values(rows.slice(i, i + BATCH));
        } catch (err) {
          // A split ended and deleted meanwhile, or the database is away: those requests go unrecorded.
          log.error(`writing ${Math.min(BATCH, rows.length - i)} split request log rows failed`, { err });
        }
      }
    }
  })();
  try {
    await w.flushing;
  } finally {
    w.flushing = null;
  }
}
