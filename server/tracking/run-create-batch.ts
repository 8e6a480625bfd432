// Group commit for runs/create: the runs that concurrent requests of this process create are written together —
// their rows, their tags, their experiments' update time and their audit events — and each request answers only
// once that write has committed. A run is never acknowledged without its audit row, and the two still commit
// together (ARCHITECTURE.md: the audit event is written in the same transaction as the change). At one client a
// batch is one run: nothing waits for company. A batch that fails is retried run by run, so one bad run fails
// only its own request; once a batch has committed, its runs are answered as created whatever the steps after
// the commit do.
//
// One statement, one round trip (issue 20: the batch took nine, and at 8 clients the creates queued behind them
// while the database sat idle). The audit events are chained onto the head this process last wrote, and the
// statement checks that head under the chain lock (audit_chain_expect, migration 0039): when another writer has
// extended the chain since, the statement fails whole, having written nothing, and the batch is written again
// in a transaction that takes the same row locks, then the chain lock and its head. Locks are taken in the order
// every writer of an experiment takes them (setExperimentLifecycle, the triggers of migration 0036): the
// experiment's run counts row, then the experiment row, then the chain — each step gated on the one before it,
// so no deadlock. The statement also checks that each run's experiment is still active in the team its request
// was authorised against (runs.ts may have taken the experiment from memory, experiment-refs.ts): when not, it
// fails with CA002, nothing written, and runs.ts prepares the create again from the database.
import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import type { runs } from "@/db/schema";
import type { AuditInput } from "../audit/record";
import { chainAudits, lockChainHead } from "../audit/chain";
import type { Ctx } from "../context";
import { log } from "../observability/log";
import { runDtoSql } from "./hydrate";
import { recordKeys } from "./keys";
import { noteRunsCreated } from "./statistics";

/** The columns runs/create writes; the others take their defaults. */
type RunRow = Pick<typeof runs.$inferInsert, "name" | "teamId" | "status" | "startTime" | "userId" | "createdBy" | "parentRunId" | "artifactUri">;

export type PendingRun = {
  ctx: Ctx;
  row: RunRow & { id: string; experimentId: number };
  tags: [string, string][];
  audit: AuditInput;
};

type Waiting = PendingRun & { resolve: (json: string) => void; reject: (err: unknown) => void };

/** Runs a batch carries at most (its JSON parameters stay small). */
const MAX_BATCH = 100;

/** The chain's head after this process's last committed batch; undefined: not known (read it under the lock). */
type Queue = { waiting: Waiting[]; flushing: Promise<void> | null; head: string | null | undefined };

// One queue per database and process: Next bundles this module once per route, and every route's creates share it.
const REGISTRY = Symbol.for("cairn.tracking.runCreateBatch");
const globals = globalThis as unknown as { [REGISTRY]?: WeakMap<Db, Queue> };
const queues = (globals[REGISTRY] ??= new WeakMap<Db, Queue>());

/** SQLSTATE audit_chain_expect raises when the chain's head is not the one expected. */
const CHAIN_MOVED = "CA001";
/** SQLSTATE of the write statement's check that each run's experiment is still active in the team it was authorised against. */
const EXPERIMENT_CHANGED = "CA002";

function hasCode(err: unknown, code: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if ("code" in e && e.code === code) return true;
  return false;
}

/** The write refused a run because its experiment is gone, no longer active, or not in the team it was read in. */
export function experimentChanged(err: unknown): boolean {
  return hasCode(err, EXPERIMENT_CHANGED);
}

/** The runs of `batch` as the JSON the statement reads them from. */
function inputRows(batch: readonly PendingRun[]): string {
  return JSON.stringify(batch.map(({ row: r }) => ({
    id: r.id, experiment_id: r.experimentId, team_id: r.teamId, name: r.name, status: r.status, start_time: r.startTime, user_id: r.userId,
    created_by: r.createdBy ?? null, parent_run_id: r.parentRunId ?? null, artifact_uri: r.artifactUri,
  })));
}

/**
 * The statement's first steps, in the order every writer of an experiment locks: the experiments' run counts
 * rows, in experiment order (an upsert that writes nothing to a row there is, but locks it, and creates the row
 * of an experiment's first run — so that no row is first locked later, by the triggers of migration 0036, out
 * of order: two processes creating in the same experiments would deadlock), then the experiment rows (their
 * update time, only while active), then the check that each run's experiment is active in the team its
 * request was authorised against (CA002 otherwise).
 */
function lockingCtes(input: string): SQL {
  return sql`
    input as (
      select * from json_to_recordset(${input}::json) as x(
        id text, experiment_id bigint, team_id uuid, name text, status text, start_time bigint, user_id text, created_by uuid, parent_run_id text, artifact_uri text)
    ),
    counted as (
      insert into experiment_run_stats as s (experiment_id) select distinct experiment_id from input order by experiment_id
      on conflict (experiment_id) do update set active_runs = s.active_runs where false
      returning experiment_id
    ),
    touched as (
      update experiments set last_update_time = ${Date.now()}
      where id in (select experiment_id from input) and lifecycle_stage = 'active' and (select count(*) from counted) >= 0
      returning id, team_id
    ),
    checked as (
      select cairn_check(
        not exists (select 1 from input i where not exists (select 1 from touched e where e.id = i.experiment_id and e.team_id = i.team_id)),
        ${EXPERIMENT_CHANGED}, 'an experiment of these runs is gone, no longer active or not in the team the runs were authorised in') as ok
    )`;
}

/**
 * The statement that writes `batch` with its audit events chained onto `head`: the locking steps, then the
 * chain's head checked under the chain lock (CA001 when another writer moved it), then the runs, their tags and
 * the audit events; it answers the runs' MLflow DTOs, built from the inserted rows (a run created a moment ago
 * has no metrics, params, inputs or outputs).
 */
function writeStatement(batch: readonly PendingRun[], head: string | null) {
  const tagRows = batch.flatMap((p) => p.tags.map(([key, value]) => ({ run_id: p.row.id, key, value })));
  const auditRows = chainAudits(head, batch.map((p) => ({ ctx: p.ctx, input: p.audit }))).map((a, n) => ({
    n, at: a.at, actor_type: a.actorType, actor_id: a.actorId, actor: a.actor, action: a.action, target: a.target, team_id: a.teamId, team: a.team,
    outcome: a.outcome, request_id: a.requestId, ip: a.ip, user_agent: a.userAgent, details: a.details, prev_hash: a.prevHash, hash: a.hash,
    hash_version: a.hashVersion, key_id: a.keyId,
  }));
  const dto = runDtoSql({
    metrics: sql`'[]'::json`,
    params: sql`'[]'::json`,
    tags: sql`coalesce((select json_agg(json_build_object('key', t.key, 'value', t.value) order by t.key) from tags t where t.run_id = r.id), '[]'::json)`,
    datasetInputs: sql`'[]'::json`,
    modelOutputs: sql`'[]'::json`,
  });
  const statement = sql`
    with ${lockingCtes(inputRows(batch))},
    chain as (
      select audit_chain_expect(${head}::text) as head where (select ok from checked)
    ),
    created as (
      insert into runs (id, experiment_id, team_id, name, status, start_time, user_id, created_by, parent_run_id, artifact_uri)
      select id, experiment_id, team_id, name, status, start_time, user_id, created_by, parent_run_id, artifact_uri
      from input where (select count(*) from chain) = 1
      returning *
    ),
    tags as (
      insert into run_tags (run_id, key, value)
      select run_id, key, value from json_to_recordset(${JSON.stringify(tagRows)}::json) as t(run_id text, key text, value text)
      where (select count(*) from chain) = 1
      returning run_id, key, value
    ),
    audited as (
      insert into audit_events (at, actor_type, actor_id, actor, action, target, team_id, team, outcome, request_id, ip, user_agent, details, prev_hash, hash, hash_version, key_id)
      select at, actor_type, actor_id, actor, action, target, team_id, team, outcome, request_id, ip, user_agent, details, prev_hash, hash, hash_version, key_id
      from json_to_recordset(${JSON.stringify(auditRows)}::json) as a(
        n int, at timestamptz, actor_type text, actor_id text, actor text, action text, target text, team_id uuid, team text, outcome text,
        request_id text, ip text, user_agent text, details jsonb, prev_hash text, hash text, hash_version smallint, key_id text)
      where (select count(*) from chain) = 1
      order by n
      returning id
    )
    select coalesce((select json_agg(${dto}) from created r), '[]'::json)::text as runs, (select count(*) from audited)::int as audited`;
  return { statement, last: auditRows[auditRows.length - 1]!.hash };
}

async function runWrite(db: DbOrTx, batch: readonly PendingRun[], head: string | null): Promise<{ json: string; last: string }> {
  const { statement, last } = writeStatement(batch, head);
  const result = (await db.execute(statement)) as unknown as { rows: { runs: string; audited: number }[] };
  const row = result.rows[0]!;
  if (Number(row.audited) !== batch.length) throw new Error(`runs/create wrote ${row.audited} audit events for ${batch.length} runs`);
  return { json: row.runs, last };
}

/** Writes `batch` and its audit events, committed when it returns; the JSON text of each run's MLflow DTO, by run id. */
async function commitBatch(db: Db, queue: Queue, batch: readonly PendingRun[]): Promise<Map<string, string>> {
  let written: { json: string; last: string } | null = null;
  if (queue.head !== undefined) {
    // The statement on its own: it commits on its own.
    try {
      written = await runWrite(db, batch, queue.head);
    } catch (err) {
      if (!hasCode(err, CHAIN_MOVED)) throw err;
    }
  }
  if (!written) {
    // The head is unknown or moved on: a transaction takes the rows' locks, then the chain lock and its head (in
    // that order, as the statement alone and every other writer do), then writes with that head.
    queue.head = undefined;
    written = await db.transaction(async (tx) => {
      await tx.execute(sql`with ${lockingCtes(inputRows(batch))} select ok from checked`);
      return runWrite(tx, batch, await lockChainHead(tx));
    });
  }
  queue.head = written.last;
  const parsed = JSON.parse(written.json) as { info: { run_id: string } }[];
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

async function flush(db: Db, queue: Queue): Promise<void> {
  try {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, MAX_BATCH);
      let written: Map<string, string>;
      try {
        written = await commitBatch(db, queue, batch);
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        // Nothing of the batch committed: each run on its own, so only the one at fault fails.
        for (const w of batch) {
          let one: Map<string, string>;
          try {
            one = await commitBatch(db, queue, [w]);
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
    queue = { waiting: [], flushing: null, head: undefined };
    queues.set(db, queue);
  }
  const done = new Promise<string>((resolve, reject) => queue.waiting.push({ ...pending, resolve, reject }));
  // A flush in progress takes the newcomers in its next batch; otherwise start one.
  if (!queue.flushing) queue.flushing = flush(db, queue);
  return done;
}

