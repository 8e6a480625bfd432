// Target 5: PostgreSQL's own bulk-load rate for the same metric rows, into a scratch table of the same
// shape as `metrics` (same columns, defaults, index and foreign key to runs), to put Cairn's ingest
// rate in proportion. Two baselines: COPY FROM STDIN over the wire (text format, the rows the ingest
// sent), and a server-side INSERT … SELECT generate_series (no wire, no parsing).
import type pg from "pg";
import { copyFromStdin } from "./copy";
import { batchPoints } from "./ingest";
import { log, median, now, round } from "./stats";

export type BaselineResult = { rows: number; repetitions: number; msEach: number[]; rowsPerSecond: number };
export type CompareResult = { copy: BaselineResult; insertSelect: BaselineResult };

const SCRATCH = "bench_metrics_scratch";

function copyChunks(runId: string, batches: number, batchSize: number): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  for (let b = 0; b < batches; b++) {
    for (const p of batchPoints(b, batchSize)) lines.push(`${runId}\t${p.key}\t${p.value}\t${p.step}\t${p.timestamp}\n`);
    if (lines.length >= 2000) { chunks.push(Buffer.from(lines.join(""))); lines = []; }
  }
  if (lines.length) chunks.push(Buffer.from(lines.join("")));
  return chunks;
}

export async function runCopyBaseline(raw: pg.Client, runId: string, batches: number, batchSize: number, repetitions = 3): Promise<CompareResult> {
  await raw.query(`drop table if exists ${SCRATCH}`);
  await raw.query(`create table ${SCRATCH} (like metrics including all)`);
  await raw.query(`alter table ${SCRATCH} add foreign key (run_id) references runs (id) on delete cascade`);
  const rows = batches * batchSize;
  const chunks = copyChunks(runId, batches, batchSize);
  const copyMs: number[] = [];
  const insertMs: number[] = [];
  try {
    for (let r = 0; r < repetitions; r++) {
      await raw.query(`truncate ${SCRATCH}`);
      const t = now();
      const n = await copyFromStdin(raw, `copy ${SCRATCH} (run_id, key, value, step, timestamp) from stdin`, chunks);
      copyMs.push(now() - t);
      if (n !== rows) throw new Error(`COPY loaded ${n} rows, expected ${rows}`);
    }
    for (let r = 0; r < repetitions; r++) {
      await raw.query(`truncate ${SCRATCH}`);
      const t = now();
      const res = await raw.query(
        `insert into ${SCRATCH} (run_id, key, value, step, timestamp)
         select $1, 'k' || (i % 10), exp(-(i / 10) / 5000.0) + 0.01 * sin(i), i / 10, $2::bigint + (i / 10) * 100
         from generate_series(0, $3::int - 1) i`,
        [runId, Date.UTC(2025, 5, 1), rows],
      );
      insertMs.push(now() - t);
      if (res.rowCount !== rows) throw new Error(`INSERT … SELECT loaded ${res.rowCount} rows, expected ${rows}`);
    }
  } finally {
    await raw.query(`drop table if exists ${SCRATCH}`);
  }
  const result = (msEach: number[]): BaselineResult => ({ rows, repetitions, msEach: msEach.map((m) => round(m)), rowsPerSecond: round(rows / (median(msEach) / 1000), 0) });
  const out = { copy: result(copyMs), insertSelect: result(insertMs) };
  log(`  COPY FROM STDIN: ${out.copy.rowsPerSecond} rows/s; INSERT … SELECT: ${out.insertSelect.rowsPerSecond} rows/s (${rows} rows, median of ${repetitions})`);
  return out;
}
