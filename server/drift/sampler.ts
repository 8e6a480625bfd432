// The inference log's writer: the gateway hands each answered request to `sampleInference`, which returns at
// once; a share of them (the deployment's sample rate) is read off the request path — input rows from the
// request body, each row's prediction from the answer's bytes — keeping only the reference profile's columns
// and never one marked sensitive, before anything is queued, and a timer writes the queue in batches (one
// INSERT per batch, ../batch-writer.ts). The queue is bounded in rows and bytes: samples beyond are dropped and counted.
import type { Db } from "@/db/client";
import { inferenceSamples } from "@/db/schema";
import type { Reference } from "./reference";
import { cachedSampleRate, columnNames, deploymentReference, normalizedColumn } from "./reference";
import type { Row } from "./rows";
import { inputRows, rowPredictions } from "./rows";
import type { BatchLimits } from "../batch-writer";
import { createBatchWriter } from "../batch-writer";
import { log } from "../observability/log";

type Sample = typeof inferenceSamples.$inferInsert;

const MAX_QUEUED = 20_000;
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;
/** Rows of one request sampled at most (a batch request counts as this many samples at most). */
export const MAX_ROWS_PER_REQUEST = 20;
const MAX_STRING = 256;
/** Columns of one row stored at most (a profile names at most 500 features). */
const MAX_COLUMNS = 500;


/** A value as stored: numbers and booleans as they are, strings cut to 256 characters, anything else as "(unsupported)"; missing is undefined (not stored). */
function storable(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "boolean") return v;
  if (typeof v === "string") return v.slice(0, MAX_STRING);
  return "(unsupported)";
}

const POSITIONAL_NAME = /^#\d+$/;

/**
 * The row as stored. Only the columns the reference profile names are kept (compared trimmed and lower-case,
 * stored under the profile's spelling; positional columns named by the profile's feature order), never a
 * column whose name is sensitive, missing values skipped. While columns are marked sensitive, a profile whose
 * names are positional (`#0`, `#1`, …) or that does not name every sensitive column keeps no inputs at all:
 * the model server takes values by position, so any column could be a sensitive one.
 */
export function storedRow(row: Row, positional: boolean, reference: Pick<Reference, "sensitive" | "profile"> | null): Record<string, unknown> {
  const sensitive = new Set((reference?.sensitive ?? []).map(normalizedColumn));
  const names = columnNames(reference);
  if (!names) return {};
  const allowed = new Map<string, string>();
  for (const name of names) if (!allowed.has(normalizedColumn(name))) allowed.set(normalizedColumn(name), name);
  if (sensitive.size > 0) {
    if (names.some((n) => POSITIONAL_NAME.test(n.trim()))) return {};
    for (const s of sensitive) if (!allowed.has(s)) return {};
  }
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let kept = 0;
  for (const [key, value] of Object.entries(row)) {
    if (kept >= MAX_COLUMNS) break;
    let column: string | undefined;
    if (positional && POSITIONAL_NAME.test(key)) column = names[Number(key.slice(1))];
    else column = allowed.get(normalizedColumn(key));
    if (column === undefined || sensitive.has(normalizedColumn(column)) || Object.hasOwn(out, column)) continue;
    const stored = storable(value);
    if (stored === undefined) continue;
    out[column] = stored;
    kept++;
  }
  return { ...out };
}

/** Roughly the bytes a sample takes in the queue (its JSON). */
const sizeOf = (s: Sample): number => JSON.stringify(s.features).length + s.requestId.length + s.deploymentId.length + 64;

const writer = createBatchWriter<Sample>({
  name: "inferenceLog", what: "inference samples", limits: { rows: MAX_QUEUED, bytes: MAX_QUEUED_BYTES }, sizeOf,
  insert: (db, rows) => db.insert(inferenceSamples).values(rows),
});

/** Sets the queue's bounds (tests use small ones); answers the previous bounds. */
export function setInferenceQueueLimits(limits: BatchLimits): BatchLimits {
  return writer.setLimits(limits);
}

/** Samples dropped because the queue was full (rows or bytes) since the process started. */
export function droppedInferenceSamples(): number {
  return writer.dropped();
}

// One decoder for every sample (decode() without { stream } keeps no state between calls).
const utf8 = new TextDecoder();

async function jsonOf(bytes: Uint8Array | ArrayBuffer | null): Promise<unknown> {
  if (!bytes || bytes.byteLength === 0 || bytes.byteLength > MAX_BODY_BYTES) return null;
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return null;
  }
}

export type SampleInput = {
  deploymentId: string;
  requestId: string;
  /** The request body the gateway read. */
  body: Uint8Array | ArrayBuffer | null;
  /** The answer: its body is read (off the request path) when the request is sampled. */
  answer: { status: number; body: Uint8Array };
};

/** Samples one answered inference request (200s only) into the inference log; returns at once. */
export function sampleInference(db: Db, s: SampleInput): void {
  if (s.answer.status !== 200 || !s.body || s.body.byteLength === 0) return;
  const draw = Math.random();
  const known = cachedSampleRate(s.deploymentId);
  if (known !== undefined && draw >= known) return;
  writer.track((async () => {
    const reference = await deploymentReference(db, s.deploymentId);
    if (!reference || draw >= reference.sampleRate) return;
    const { rows, positional } = inputRows(await jsonOf(s.body), MAX_ROWS_PER_REQUEST);
    if (rows.length === 0) return;
    const predictions = rowPredictions(await jsonOf(s.answer.body), rows.length);
    const at = new Date();
    const samples: Sample[] = rows.map((row, i) => ({ deploymentId: s.deploymentId, requestId: s.requestId, features: storedRow(row, positional, reference), prediction: predictions[i] ?? null, at }));
    const dropped = writer.push(db, samples);
    if (dropped > 0) log.warn(`the inference log's queue is full: ${dropped} samples of deployment ${s.deploymentId} dropped (${writer.dropped()} in all)`);
  })().catch((err: unknown) => log.error(`sampling a request of deployment ${s.deploymentId} failed`, { err })));
}

/** Writes everything queued (tests call it to read what the gateway sampled; the timer calls it otherwise). */
export function flushInferenceSamples(): Promise<void> {
  return writer.flush();
}
