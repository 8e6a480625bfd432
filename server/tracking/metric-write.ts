// Writing a batch of metric points in ONE statement: the history (duplicates stored once), the latest value
// per key, the experiment's key list, and one row of metric_fold_queue with the points it inserted (folded
// into the chart rollups later, in bulk: rollups.ts), guarded by the run check (and, on the token path, the
// token's grant). A single statement is atomic on its own, so a metric-only batch needs no BEGIN/COMMIT; when
// the guard fails nothing is written and the caller learns why elsewhere.
// The text is built once and sent as a named prepared statement, so PostgreSQL plans it once per connection.
// The points travel once, as four array literals built here; the latest value per key names its point by
// position in those arrays (a small integer), so neither side spends time serialising and parsing the same
// doubles again.
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { Placeholder } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Db, DbOrTx } from "@/db/client";
import { poolOf, timedReads } from "@/db/client";
import { experimentKeys, latestMetrics, metricFoldQueue, metrics, runs } from "@/db/schema";
import { tokenGrantSql } from "../auth/token-actor";
import { log } from "../observability/log";
import { markRecorded, unrecordedKeys } from "./keys";
import { numberArray, textArray } from "./pg-arrays";
import { scheduleFold } from "./rollups";

export type Point = { key: string; value: number; step: number; timestamp: number };

const ph = (name: string) => sql.placeholder(name);

/**
 * The writes of one or several batches, each into its own run. `run` yields, per batch that may be written, its
 * ordinal (1-based, its position in the request list), the run's id and experiment, and (token path) the token's
 * user, id and last use; a batch with no row writes nothing. The points of every batch travel in one set of arrays,
 * each naming its batch (`owners`); latest values and new keys name their points by position, latest values in
 * (run, key) order so concurrent statements lock rows in one order. Yields one row per batch written.
 */
function metricWrite(run: SQL): SQL {
  // A point's columns by its (1-based) position in the bound arrays.
  const at = (i: SQL) => sql`p.keys[${i}], p.steps[${i}], p.timestamps[${i}], p.values[${i}]`;
  return sql`
    with run as (${run}),
    p as (select ${ph("keys")}::text[] as keys, ${ph("values")}::float8[] as values, ${ph("steps")}::bigint[] as steps,
      ${ph("timestamps")}::bigint[] as timestamps, ${ph("owners")}::int[] as owners),
    ins as (
      insert into ${metrics} (run_id, key, value, step, timestamp)
      select run.id, u.k, u.v, u.s, u.t
      from p cross join unnest(p.keys, p.values, p.steps, p.timestamps, p.owners) as u(k, v, s, t, o) join run on run.ord = u.o
      -- In index order, as every writer inserts, so two writers of the same points never wait for each other in a cycle.
      order by run.id collate "C", u.k collate "C", u.s, u.t, u.v
      on conflict do nothing
      returning run_id, key, value, step, timestamp),
    -- The points actually inserted (a retried batch's duplicates are not), one row per run, for the rollup fold.
    queued as (
      insert into ${metricFoldQueue} (run_id, experiment_id, keys, values, steps, timestamps)
      select run.id, run.experiment_id, array_agg(ins.key), array_agg(ins.value), array_agg(ins.step), array_agg(ins.timestamp)
      from ins join run on run.id = ins.run_id group by run.id, run.experiment_id
      returning 1),
    latest as (
      insert into ${latestMetrics} (run_id, key, step, timestamp, value)
      select run.id, ${at(sql`l.i`)}
      from p cross join unnest(${ph("latest")}::int[]) with ordinality as l(i, n) join run on run.ord = p.owners[l.i]
      order by l.n
      on conflict (run_id, key) do update set value = excluded.value, step = excluded.step, timestamp = excluded.timestamp
      -- MLflow's latest: step, then timestamp, then the larger value (NaN sorts highest, as in later()).
      where (excluded.step, excluded.timestamp, excluded.value) > (${latestMetrics}.step, ${latestMetrics}.timestamp, ${latestMetrics}.value)
      returning 1),
    new_keys as (
      insert into ${experimentKeys} (experiment_id, kind, key)
      select d.experiment_id, 'metric', d.key from (
        select distinct run.experiment_id, p.keys[k.i] as key
        from p cross join unnest(${ph("newKeys")}::int[]) as k(i) join run on run.ord = p.owners[k.i]) as d
      order by d.experiment_id, d.key collate "C"
      on conflict do nothing
      returning 1)
    select run.ord, run.id as run_id, run.experiment_id, run.user_id, run.token_id, run.last_used_at,
      (select count(*) from queued)::int as queued, (select count(*) from latest)::int as latest, (select count(*) from new_keys)::int as new_keys
    from run`;
}

type Compiled = { name: string; text: string; params: unknown[] };

function compile(name: string, query: SQL): Compiled {
  const { sql: text, params } = new PgDialect().sqlToQuery(query);
  return { name, text, params };
}

/** One batch into a run, when the run is active (the caller has authorized the actor). */
const BY_RUN = compile("cairn_metric_write_run_v4", metricWrite(sql`
  select 1 as ord, r.id, r.experiment_id, null::uuid as user_id, null::uuid as token_id, null::timestamptz as last_used_at
  from ${runs} r where r.id = ${ph("runId")} and r.lifecycle_stage = 'active'`));

/**
 * Metric-only batches sent with API tokens, one or several (each into a different run) in ONE statement: per
 * batch (its ordinal in the bound arrays) the token's grant and the run, then the writes of every batch that passed.
 */
const BY_TOKEN = compile("cairn_metric_write_tokens_v2", metricWrite(sql`
  select req.ord::int as ord, r.id, r.experiment_id, g.user_id, g.token_id, g.last_used_at
  from unnest(${ph("runIds")}::text[], ${ph("tokenHashes")}::text[]) with ordinality as req(run_id, token_hash, ord)
  join ${runs} r on r.id = req.run_id
  cross join lateral (${tokenGrantSql(sql`req.token_hash`, "train_model", sql`r.team_id`)}) as g
  where r.lifecycle_stage = 'active'`));

type Row = { ord?: number; run_id: string; experiment_id: string | number; user_id: string | null; token_id: string | null; last_used_at: Date | string | null; queued: number };
type RawResult = { rows: Row[] };

/** Runs a compiled statement through the driver: a named prepared statement on PostgreSQL. */
async function execute(db: DbOrTx, statement: Compiled, values: Record<string, unknown>): Promise<Row[]> {
  const params = statement.params.map((p) => (p instanceof Placeholder ? values[p.name] : p));
  const pool = poolOf(db);
  if (pool) {
    const result = await pool.query<Row>({ name: statement.name, text: statement.text, values: params });
    return result.rows;
  }
  // PGlite (in-process) or an open transaction: through drizzle, which binds the same parameters.
  const chunks = statement.text.split(/\$(\d+)/);
  const query = sql.join(chunks.map((c, i) => (i % 2 === 0 ? sql.raw(c) : sql`${sql.param(params[Number(c) - 1])}`)));
  return ((await db.execute(query)) as unknown as RawResult).rows;
}

/** Runs never move between experiments, so each process remembers a run's experiment (for the key list). */
const runExperiment = new Map<string, number>();
const MAX_RUNS_REMEMBERED = 100_000;

type Indexed = Point & { i: number };

type Batch = { runId: string; points: Point[] };

/**
 * The point arrays of `batches`: every batch's points in turn, each naming its batch (1-based) in `owners`; the
 * latest point of each (run, key) by position, in (run, key) order; and by position the first point of each key the
 * run's experiment has not recorded yet (every key when the experiment is not known here: on conflict do nothing).
 */
function bindPoints(batches: Batch[], experimentOf: (runId: string) => number | undefined): Record<string, string> {
  const keys: string[] = [];
  const values: number[] = [];
  const steps: number[] = [];
  const timestamps: number[] = [];
  const owners: number[] = [];
  const latest: { runId: string; key: string; i: number }[] = [];
  const newKeys: number[] = [];
  for (const [b, batch] of batches.entries()) {
    const offset = keys.length;
    const indexed: Indexed[] = batch.points.map((x, i) => ({ key: x.key, value: x.value, step: x.step, timestamp: x.timestamp, i: offset + i + 1 }));
    const firstOf = new Map<string, number>();
    for (const x of indexed) {
      keys.push(x.key);
      values.push(x.value);
      steps.push(x.step);
      timestamps.push(x.timestamp);
      owners.push(b + 1);
      if (!firstOf.has(x.key)) firstOf.set(x.key, x.i);
    }
    for (const x of latestPerKey(indexed)) latest.push({ runId: batch.runId, key: x.key, i: x.i });
    const experimentId = experimentOf(batch.runId);
    const fresh = experimentId === undefined ? [...firstOf.keys()] : unrecordedKeys(experimentId, "metric", firstOf.keys());
    for (const k of fresh) newKeys.push(firstOf.get(k)!);
  }
  // Latest rows locked in (run, key) order, as every other writer locks them.
  latest.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    keys: textArray(keys), values: numberArray(values), steps: numberArray(steps), timestamps: numberArray(timestamps), owners: numberArray(owners),
    latest: numberArray(latest.map((l) => l.i)), newKeys: numberArray(newKeys),
  };
}

/** MLflow's "latest": the highest step, then the latest timestamp, then the larger value. */
export function later(a: Point, b: Point): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value || Number.isNaN(a.value);
}

/** The latest point of each key, in key order (the order rows are locked in). */
export function latestPerKey<P extends Point>(points: P[]): P[] {
  const latest = new Map<string, P>();
  for (const p of points) {
    const cur = latest.get(p.key);
    if (!cur || later(p, cur)) latest.set(p.key, p);
  }
  return [...latest.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Writes `points` into an active run the caller may write to (already authorized). Returns false when
 * the run is not (or no longer) active, having written nothing. Inside a transaction (`inTransaction`)
 * the new keys are written but not remembered, and no fold is scheduled: the caller does both after its commit.
 */
export async function writeMetricPoints(db: DbOrTx, run: { runId: string; experimentId: number }, points: Point[], inTransaction = false): Promise<boolean> {
  if (points.length === 0) return true;
  const values = { runId: run.runId, ...bindPoints([{ runId: run.runId, points }], () => run.experimentId) };
  const [row] = await execute(db, BY_RUN, values);
  if (row && !inTransaction) {
    markRecorded(run.experimentId, "metric", points.map((p) => p.key));
    if (Number(row.queued) > 0) scheduleFold(db as Db);
  }
  return row !== undefined;
}

export type TokenWrite = { userId: string; tokenId: string; lastUsedAt: Date | null };

type Pending = { tokenHash: string; runId: string; points: Point[]; resolve: (w: TokenWrite | null) => void; reject: (err: unknown) => void };
type Coalescer = { queue: Pending[]; inFlight: number; busyRuns: Set<string>; queuedPerRun: Map<string, number> };

/** Statements of grouped token writes one process keeps in flight per database; further requests wait and go together. */
const MAX_IN_FLIGHT = 3;
/**
 * A grouped statement that runs longer (a lock someone holds on one of its runs, a stalled database) is cancelled
 * and its requests take the general path one by one, so no tenant can hold the slots, and with them everyone's
 * batches, for longer than this.
 */
const GROUP_TIMEOUT_MS = 2_000;
/**
 * What may wait for a group: in all, and per run (the shortcut runs before the token is verified, so anyone can
 * send here). Past either, a batch takes the general path at once, which verifies the token first.
 */
const MAX_QUEUED = 512;
const MAX_QUEUED_PER_RUN = 2;
const MAX_GROUP_REQUESTS = 64;
const MAX_GROUP_POINTS = 20_000;
/**
 * Since the process started: grouped statements, the requests they carried, groups that failed and batches sent
 * straight to the general path by the queue's bounds (both then written one by one).
 */
const groupStats = { statements: 0, requests: 0, retried: 0, overflow: 0 };
export const metricWriteGroupStats = (): Readonly<typeof groupStats> => ({ ...groupStats });
const coalescers = ((globalThis as Record<symbol, unknown>)[Symbol.for("cairn.metricWriteGroups")] ??= new WeakMap()) as WeakMap<object, Coalescer>;

/**
 * Writes `points` into run `runId` if the API token (by its lookup hash) may train in the run's team and
 * the run is active, all in one statement. Returns null, having written nothing, when any check fails:
 * the caller then takes the general path, which says why and audits a denial.
 * Requests that arrive while MAX_IN_FLIGHT such statements run are written together, in one statement
 * (group commit: one round trip and one commit for all of them, each still checked on its own), never two
 * into the same run. Each is answered only after the statement that wrote it committed.
 */
export function writeMetricPointsByToken(db: Db, tokenHash: string, runId: string, points: Point[]): Promise<TokenWrite | null> {
  if (points.length === 0) return Promise.resolve(null);
  let c = coalescers.get(db);
  if (!c) coalescers.set(db, (c = { queue: [], inFlight: 0, busyRuns: new Set(), queuedPerRun: new Map() }));
  const coalescer = c;
  const queuedForRun = coalescer.queuedPerRun.get(runId) ?? 0;
  if (coalescer.queue.length >= MAX_QUEUED || queuedForRun >= MAX_QUEUED_PER_RUN) {
    groupStats.overflow++;
    return Promise.resolve(null);
  }
  coalescer.queuedPerRun.set(runId, queuedForRun + 1);
  return new Promise((resolve, reject) => {
    coalescer.queue.push({ tokenHash, runId, points, resolve, reject });
    pump(db, coalescer);
  });
}

function pump(db: Db, c: Coalescer): void {
  // PGlite runs one statement at a time: one in flight, the rest grouped behind it.
  const limit = poolOf(db) ? MAX_IN_FLIGHT : 1;
  while (c.inFlight < limit && c.queue.length > 0) {
    const group: Pending[] = [];
    const runsInGroup = new Set<string>();
    let points = 0;
    const rest: Pending[] = [];
    for (const p of c.queue) {
      // Never two requests into one run in a group, nor a run that a statement in flight writes: one run's
      // statement that waits (on a lock of that run) holds one slot, not every slot its requests could take.
      const free = !runsInGroup.has(p.runId) && !c.busyRuns.has(p.runId);
      const fits = free && group.length < MAX_GROUP_REQUESTS && (group.length === 0 || points + p.points.length <= MAX_GROUP_POINTS);
      if (!fits) {
        rest.push(p);
        continue;
      }
      group.push(p);
      runsInGroup.add(p.runId);
      points += p.points.length;
    }
    c.queue = rest;
    if (group.length === 0) return; // every waiting request's run is being written: the end of that statement pumps again
    for (const p of group) {
      const n = (c.queuedPerRun.get(p.runId) ?? 1) - 1;
      if (n > 0) c.queuedPerRun.set(p.runId, n);
      else c.queuedPerRun.delete(p.runId);
    }
    c.inFlight++;
    for (const r of runsInGroup) c.busyRuns.add(r);
    void writeGroup(db, group).finally(() => {
      c.inFlight--;
      for (const r of runsInGroup) c.busyRuns.delete(r);
      pump(db, c);
    });
  }
}

async function writeGroup(db: Db, group: Pending[]): Promise<void> {
  groupStats.statements++;
  groupStats.requests += group.length;
  try {
    settle(db, group, await execute(timedReads(db, GROUP_TIMEOUT_MS) ?? db, BY_TOKEN, bindGroup(group)));
  } catch (err) {
    // The statement wrote nothing. Each request takes the general path (as a refused one does), which writes it
    // on its own connection, or answers why it cannot: no retry storm here, and no slot held meanwhile.
    groupStats.retried++;
    log.warn("a grouped metric write failed; its batches are written one by one", { err, batches: group.length });
    for (const p of group) p.resolve(null);
  }
}

function settle(db: Db, group: Pending[], rows: Row[]): void {
  const byOrd = new Map(rows.map((r) => [Number(r.ord), r]));
  for (const [i, p] of group.entries()) {
    const row = byOrd.get(i + 1);
    if (!row || row.user_id === null || row.token_id === null) {
      p.resolve(null);
      continue;
    }
    const experimentId = Number(row.experiment_id);
    if (runExperiment.size > MAX_RUNS_REMEMBERED) runExperiment.clear();
    runExperiment.set(p.runId, experimentId);
    markRecorded(experimentId, "metric", p.points.map((x) => x.key));
    p.resolve({ userId: row.user_id, tokenId: row.token_id, lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at) });
  }
  if (rows.some((r) => Number(r.queued) > 0)) scheduleFold(db);
}

/** The group's arrays: its runs and token hashes, by request, and the points of every request (bindPoints). */
function bindGroup(group: Pending[]): Record<string, string> {
  return {
    runIds: textArray(group.map((p) => p.runId)), tokenHashes: textArray(group.map((p) => p.tokenHash)),
    ...bindPoints(group, (runId) => runExperiment.get(runId)),
  };
}
