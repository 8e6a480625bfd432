// Group commit for runs/create: the runs that concurrent requests of this process create are written in one
// transaction — their rows, their tags, their experiments' update time and their audit events (one chain lock,
// one INSERT) — and each request answers only once that transaction has committed. A run is never
// acknowledged without its audit row, and the two still commit together (ARCHITECTURE.md: the audit event
// is written in the same transaction as the change). At one client a batch is one run: nothing waits for
// company. A batch that fails is retried run by run, so one bad run fails only its own request; once a batch
// has committed, its runs are answered as created whatever the steps after the commit do.
import { inArray } from "drizzle-orm";
import type { Db } from "@/db/client";
import { experiments, runTags, runs } from "@/db/schema";
import type { AuditInput } from "../audit/record";
import { appendAudits } from "../audit/record";
import type { Ctx } from "../context";
import { log } from "../observability/log";
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

const queues = new WeakMap<Db, { waiting: Waiting[]; flushing: Promise<void> | null }>();

/** Writes `runs` and their audit events in one transaction; the JSON text of each run's MLflow DTO, by run id. */
async function commitBatch(db: Db, batch: readonly PendingRun[]): Promise<Map<string, string>> {
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
  const parsed = JSON.parse(json) as { info: { run_id: string } }[];
  return new Map(parsed.map((dto) => [dto.info.run_id, JSON.stringify(dto)]));
}

// Tag keys whose recording failed after their runs committed, by database and experiment: the next batches
// record them with their own (a few times at most), so the key index heals without a scan of the runs.
const owedKeys = new WeakMap<Db, Map<number, { keys: Set<string>; attempts: number }>>();
const MAX_ATTEMPTS = 5;

/**
 * What follows a commit: the experiments' tag keys (keys.ts) and the planner statistics' count. Both are
 * derived state, so neither may turn a committed run into an error: a failure is logged and the keys are
 * owed to the next batch. (Recording the keys inside the transaction would make runs/create fail whenever
 * the key index cannot be written, and hold its unique-index locks until the commit.)
 */
async function afterCommit(db: Db, batch: readonly PendingRun[]): Promise<void> {
  const todo = owedKeys.get(db) ?? new Map<number, { keys: Set<string>; attempts: number }>();
  owedKeys.delete(db);
  for (const p of batch) {
    const entry = todo.get(p.row.experimentId) ?? { keys: new Set<string>(), attempts: 0 };
    for (const [k] of p.tags) entry.keys.add(k);
    todo.set(p.row.experimentId, entry);
  }
  for (const [experimentId, entry] of todo) {
    try {
      await recordKeys(db, experimentId, "tag", entry.keys);
    } catch (err) {
      const attempts = entry.attempts + 1;
      if (attempts >= MAX_ATTEMPTS) {
        log.error("recording the tag keys of created runs failed repeatedly; they stay missing from the experiment's key index until a run logs them again", { err, experiment_id: experimentId, keys: entry.keys.size });
        continue;
      }
      const owed = owedKeys.get(db) ?? new Map<number, { keys: Set<string>; attempts: number }>();
      const prior = owed.get(experimentId);
      owed.set(experimentId, { keys: new Set([...(prior?.keys ?? []), ...entry.keys]), attempts });
      owedKeys.set(db, owed);
      log.warn("recording the tag keys of created runs failed; the next runs/create retries them", { err, experiment_id: experimentId, keys: entry.keys.size });
    }
  }
  try {
    noteRunsCreated(db, batch.length);
  } catch (err) {
    log.warn("counting created runs for the planner statistics failed", { err });
  }
}

async function flush(db: Db): Promise<void> {
  const queue = queues.get(db)!;
  try {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, MAX_BATCH);
      let written: Map<string, string>;
      try {
        written = await commitBatch(db, batch);
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        // Nothing of the batch committed: each run on its own, so only the one at fault fails.
        for (const w of batch) {
          let one: Map<string, string>;
          try {
            one = await commitBatch(db, [w]);
          } catch (e) {
            w.reject(e);
            continue;
          }
          w.resolve(one.get(w.row.id)!);
          await afterCommit(db, [w]);
        }
        continue;
      }
      // Committed: every run of the batch is answered as created, whatever happens next.
      for (const w of batch) w.resolve(written.get(w.row.id)!);
      await afterCommit(db, batch);
    }
  } finally {
    queue.flushing = null;
  }
}

/** Resolves once the runs queued for `db` are written and the steps after their commit are done (tests wait for it). */
export async function flushed(db: Db): Promise<void> {
  while (queues.get(db)?.flushing) await queues.get(db)!.flushing;
}

/**
 * Creates the run with the runs other requests of this process are creating at the moment, and answers the
 * JSON text of its MLflow DTO once committed. `pending.ctx.db` must be the process's database, not a transaction.
 */
export function createRunBatched(pending: PendingRun): Promise<string> {
  const db = pending.ctx.db as Db;
  let queue = queues.get(db);
  if (!queue) {
    queue = { waiting: [], flushing: null };
    queues.set(db, queue);
  }
  const done = new Promise<string>((resolve, reject) => queue.waiting.push({ ...pending, resolve, reject }));
  // A flush in progress takes the newcomers in its next batch; otherwise start one.
  if (!queue.flushing) queue.flushing = flush(db);
  return done;
}

