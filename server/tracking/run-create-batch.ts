// Group commit for runs/create: the runs that concurrent requests of this process create are written in one
// transaction — their rows, their tags, their experiments' update time and their audit events (one chain lock,
// one INSERT) — and each request answers only once that transaction has committed. A run is never
// acknowledged without its audit row, and the two still commit together (ARCHITECTURE.md: the audit event
// is written in the same transaction as the change). At one client a batch is one run: nothing waits for
// company. A batch that fails is retried run by run, so one bad run fails only its own request.
import { inArray } from "drizzle-orm";
import type { Db } from "@/db/client";
import { experiments, runTags, runs } from "@/db/schema";
import type { AuditInput } from "../audit/record";
import { appendAudits } from "../audit/record";
import type { Ctx } from "../context";
import { runsJson } from "./hydrate";
import { recordKeys } from "./keys";
import { noteRunsCreated } from "./statistics";

export type PendingRun = {
  ctx: Ctx;
  row: typeof runs.$inferInsert & { id: string; experimentId: number };
  tags: [string, string][];
  audit: AuditInput;
};

type Waiting = PendingRun & { resolve: (json: string) => void; reject: (err: unknown) => void };

/** Runs a batch carries at most (a statement's parameters stay far below PostgreSQL's 65,535). */
const MAX_BATCH = 100;

const queues = new WeakMap<Db, { waiting: Waiting[]; flushing: boolean }>();

/** Writes `runs` and their audit events in one transaction; the JSON text of each run's MLflow DTO, by run id. */
async function writeBatch(db: Db, batch: readonly PendingRun[]): Promise<Map<string, string>> {
  const json = await db.transaction(async (tx) => {
    await tx.insert(runs).values(batch.map((p) => p.row));
    const tagRows = batch.flatMap((p) => [...p.tags].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ runId: p.row.id, key, value })));
    if (tagRows.length > 0) await tx.insert(runTags).values(tagRows);
    const experimentIds = [...new Set(batch.map((p) => p.row.experimentId))];
    await tx.update(experiments).set({ lastUpdateTime: Date.now() }).where(inArray(experiments.id, experimentIds));
    const dtos = await runsJson(tx, batch.map((p) => p.row.id));
    await appendAudits(tx, batch.map((p) => ({ ctx: p.ctx, input: p.audit })));
    return dtos;
  });
  const byExperiment = new Map<number, Set<string>>();
  for (const p of batch) {
    const keys = byExperiment.get(p.row.experimentId) ?? new Set<string>();
    for (const [k] of p.tags) keys.add(k);
    byExperiment.set(p.row.experimentId, keys);
  }
  for (const [experimentId, keys] of byExperiment) await recordKeys(db, experimentId, "tag", keys);
  noteRunsCreated(db, batch.length);
  const parsed = JSON.parse(json) as { info: { run_id: string } }[];
  return new Map(parsed.map((dto) => [dto.info.run_id, JSON.stringify(dto)]));
}

async function flush(db: Db): Promise<void> {
  const queue = queues.get(db)!;
  queue.flushing = true;
  try {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, MAX_BATCH);
      try {
        const written = await writeBatch(db, batch);
        for (const w of batch) w.resolve(written.get(w.row.id)!);
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        // Nothing of the batch committed: each run on its own, so only the one at fault fails.
        for (const w of batch) {
          await writeBatch(db, [w]).then((written) => w.resolve(written.get(w.row.id)!), w.reject);
        }
      }
    }
  } finally {
    queue.flushing = false;
  }
}

/**
 * Creates the run with the runs other requests of this process are creating at the moment, and answers the
 * JSON text of its MLflow DTO once committed. `pending.ctx.db` must be the process's database, not a transaction.
 */
export function createRunBatched(pending: PendingRun): Promise<string> {
  const db = pending.ctx.db as Db;
  let queue = queues.get(db);
  if (!queue) {
    queue = { waiting: [], flushing: false };
    queues.set(db, queue);
  }
  const done = new Promise<string>((resolve, reject) => queue.waiting.push({ ...pending, resolve, reject }));
  // A flush in progress takes the newcomers in its next batch; otherwise start one.
  if (!queue.flushing) void flush(db);
  return done;
}

