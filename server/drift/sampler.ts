// The inference log's writer: the gateway hands each answered request to `sampleInference`, which returns at
// once; a share of them (the deployment's sample rate) is read off the request path — input rows from the
// request body, each row's prediction from a copy of the answer — with the columns marked sensitive removed
// before anything is queued, and a timer writes the queue in batches (one INSERT per batch). A queue that
// cannot be written is dropped with a log line rather than growing without bound.
import type { Db } from "@/db/client";
import { inferenceSamples } from "@/db/schema";
import type { Reference } from "./reference";
import { cachedSampleRate, columnNames, deploymentReference } from "./reference";
import type { Row } from "./rows";
import { inputRows, rowPredictions } from "./rows";
import { log } from "../observability/log";

type Sample = typeof inferenceSamples.$inferInsert;

const FLUSH_MS = 250;
const BATCH = 500;
const MAX_QUEUED = 20_000;
const MAX_BODY_BYTES = 1024 * 1024;
/** Rows of one request sampled at most (a batch request counts as this many samples at most). */
export const MAX_ROWS_PER_REQUEST = 20;
const MAX_STRING = 200;

type Writer = { queue: Map<Db, Sample[]>; timer: NodeJS.Timeout | null; flushing: Promise<void> | null; pending: Set<Promise<void>> };
const globals = globalThis as unknown as Record<symbol, Writer | undefined>;
const WRITER = Symbol.for("cairn.drift.sampler");
const writer = (): Writer => (globals[WRITER] ??= { queue: new Map(), timer: null, flushing: null, pending: new Set() });

/** A value as stored: numbers, booleans and null as they are, strings cut to 200 characters, anything else as "(unsupported)". */
function storable(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "boolean") return v;
  if (typeof v === "string") return v.slice(0, MAX_STRING);
  return "(unsupported)";
}

/**
 * The row as stored: positional columns named after the reference, sensitive columns removed. A positional
 * row whose columns cannot be named while columns are marked sensitive keeps no inputs (any could be one).
 */
export function storedRow(row: Row, positional: boolean, reference: Pick<Reference, "sensitive" | "profile"> | null): Record<string, unknown> {
  const sensitive = new Set(reference?.sensitive ?? []);
  const names = columnNames(reference);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    let column = key;
    if (positional && key.startsWith("#")) {
      const name = names?.[Number(key.slice(1))];
      if (name === undefined && sensitive.size > 0) return {};
      column = name ?? key;
    }
    if (sensitive.has(column)) continue;
    out[column] = storable(value);
  }
  return out;
}

function schedule(w: Writer): void {
  if (w.timer) return;
  w.timer = setTimeout(() => {
    w.timer = null;
    void flushInferenceSamples();
  }, FLUSH_MS);
  w.timer.unref?.();
}

async function jsonOf(bytes: ArrayBuffer | null): Promise<unknown> {
  if (!bytes || bytes.byteLength === 0 || bytes.byteLength > MAX_BODY_BYTES) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export type SampleInput = {
  deploymentId: string;
  requestId: string;
  /** The request body the gateway read. */
  body: ArrayBuffer | null;
  /** The answer; a copy is read when the request is sampled. */
  answer: Response;
};

/** Samples one answered inference request (200s only) into the inference log; returns at once. */
export function sampleInference(db: Db, s: SampleInput): void {
  if (s.answer.status !== 200 || !s.body || s.body.byteLength === 0) return;
  const draw = Math.random();
  const known = cachedSampleRate(s.deploymentId);
  if (known !== undefined && draw >= known) return;
  const answer = s.answer.clone();
  const w = writer();
  const job = (async () => {
    const reference = await deploymentReference(db, s.deploymentId);
    if (!reference || draw >= reference.sampleRate) return;
    const { rows, positional } = inputRows(await jsonOf(s.body), MAX_ROWS_PER_REQUEST);
    if (rows.length === 0) return;
    const predictions = rowPredictions(await jsonOf(await answer.arrayBuffer().catch(() => null)), rows.length);
    const queued = w.queue.get(db) ?? [];
    const at = new Date();
    for (let i = 0; i < rows.length && queued.length < MAX_QUEUED; i++) {
      queued.push({ deploymentId: s.deploymentId, requestId: s.requestId, features: storedRow(rows[i]!, positional, reference), prediction: predictions[i] ?? null, at });
    }
    w.queue.set(db, queued);
    schedule(w);
  })().catch((err: unknown) => log.error(`sampling a request of deployment ${s.deploymentId} failed`, { err }));
  w.pending.add(job);
  void job.finally(() => w.pending.delete(job));
}

/** Writes everything queued (tests call it to read what the gateway sampled; the timer calls it otherwise). */
export async function flushInferenceSamples(): Promise<void> {
  const w = writer();
  await Promise.all([...w.pending]);
  if (w.flushing) await w.flushing;
  w.flushing = (async () => {
    for (const [db, rows] of [...w.queue]) {
      w.queue.delete(db);
      for (let i = 0; i < rows.length; i += BATCH) {
        try {
          await db.insert(inferenceSamples).values(rows.slice(i, i + BATCH));
        } catch (err) {
          // A deployment deleted meanwhile, or the database is away: those samples go unrecorded.
          log.error(`writing ${Math.min(BATCH, rows.length - i)} inference samples failed`, { err });
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
