// The split request log's writer: the gateway hands each request a split served to `recordSplitRequest`,
// which only queues it; a timer writes the queue in batches (one INSERT per batch), so the answer never
// waits on the database (../batch-writer.ts). The prediction is read from the answer's bytes off the request path.
// A queue that cannot be written is dropped with a log line (figures then miss those requests) rather than
// growing without bound.
import type { Db } from "@/db/client";
import { splitRequestLog } from "@/db/schema";
import type { SplitVariant } from "@/db/schema";
import { createBatchWriter } from "../batch-writer";
import { firstPrediction } from "./split-quality";

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

const MAX_QUEUED = 50_000;
const MAX_BODY_BYTES = 1024 * 1024;

const writer = createBatchWriter<Row>({
  name: "splitLog", what: "split request log rows", limits: { rows: MAX_QUEUED, bytes: Infinity },
  insert: (db, rows) => db.insert(splitRequestLog).values(rows),
});

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

/** Queues one request for the log; returns at once. */
export function recordSplitRequest(db: Db, r: SplitRecord): void {
  const at = new Date();
  // The prediction is read off the request path: the row is queued once it is.
  writer.track(predictionOf(r.answer).then((p) => {
    writer.push(db, [{ splitId: r.splitId, requestId: r.requestId, variant: r.variant, deploymentId: r.deploymentId, status: r.status, latencyMs: r.latencyMs, at, ...p }]);
  }));
}

/** Writes everything queued (tests call it to read what the gateway recorded; the timer calls it otherwise). */
export function flushSplitLog(): Promise<void> {
  return writer.flush();
}
