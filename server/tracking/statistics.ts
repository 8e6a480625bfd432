// Planner statistics kept current. A search plan depends on how many runs, tags, params and metrics
// PostgreSQL believes there are; right after a bulk load, before autovacuum's next round (a minute, and only
// once 10% of a table changed; never on PGlite, which has no autovacuum), it believes the tables empty and may
// pick a plan that walks every run per metric row (issue 20: a sorted + filtered page of a 100k-run experiment
// ran past 60 s until the tables were analysed; 3 ms after). Two paths keep them current:
//
// - The ingest path: each process counts the runs it creates and, once they reach MIN_RUNS or a fifth of what
//   the last ANALYZE counted, analyses the tracking tables in the background.
// - The read path (`freshStatistics`, called by searches and the run browser before their query): at most every
//   CHECK_INTERVAL_MS per process, one catalog query compares each tracking table's size on disk with the size
//   its last ANALYZE (or VACUUM) saw, and PostgreSQL's count of rows changed since. When a table grew by more
//   than a fifth (and a megabyte) it analyses the tables and the read waits for that one ANALYZE, so the first
//   search after a restore or a bulk SQL load (bench/) plans on real figures; when a fifth of a table's rows
//   changed (updated latest metrics), it analyses in the background. Between checks a read costs nothing; ANALYZE samples (30,000 rows a table), so it stays about
//   a second or two at 100k runs, and it does not block writers.
//
// On PostgreSQL the background rounds are a VACUUM (ANALYZE): besides the figures it marks the pages whose rows
// every transaction sees in the visibility map, and only then can a search read a key's (key, value, run_id)
// index without visiting the table for each entry (a sorted, filtered search of a freshly loaded 100k-run
// experiment ran 2–2.5× faster once vacuumed). Autovacuum does the same, but only a while after a load; the read
// path also starts one when most of a tracking table's pages are not marked (at most every VACUUM_INTERVAL_MS per
// process), so a load that bypassed the ingest path is caught too. VACUUM skips the pages already marked, takes
// no lock that blocks readers or writers, and skips a table another VACUUM holds. PGlite (one connection, no
// concurrent readers to speak of) keeps the plain ANALYZE.
import { sql } from "drizzle-orm";
import type pg from "pg";
import type { Db, DbOrTx } from "@/db/client";
import { poolOf } from "@/db/client";
import { log } from "../observability/log";

const MIN_RUNS = 1000;
const GROWTH = 0.2;
const TABLE_NAMES = ["runs", "run_tags", "params", "latest_metrics"] as const;
const TABLES = sql.raw(TABLE_NAMES.join(", "));
const CHECK_INTERVAL_MS = 5000;
/** After a failed check or ANALYZE, the read path leaves the statistics alone this long. */
const BACKOFF_MS = 60_000;
/** Growth in pages below which a table is never called stale (1 MB at 8 kB pages). */
const MIN_PAGES = 128;
/** Rows changed since the last ANALYZE below which a table is never called stale. */
const MIN_CHANGES = 10_000;
/** Tables smaller than this (8 MB) are never vacuumed for their visibility map: their scans are cheap anyway. */
const VACUUM_MIN_PAGES = 1024;
/** The read path starts at most one VACUUM this often per process (it is skipped while one runs). */
const VACUUM_INTERVAL_MS = 10 * 60_000;

type State = {
  created: number;
  base: number;
  running: Promise<void> | null;
  checkedAt: number;
  checking: Promise<void> | null;
  vacuumedAt: number;
};

// One registry per process: Next bundles this module once per route, and the checks must be shared by all.
const REGISTRY = Symbol.for("cairn.tracking.statistics");
type Settings = { minRuns: number; checkIntervalMs: number; vacuumMinPages: number; vacuumIntervalMs: number };
const globals = globalThis as unknown as { [REGISTRY]?: { states: WeakMap<Db, State>; settings: Settings } };
function registry() {
  return (globals[REGISTRY] ??= {
    states: new WeakMap(),
    settings: { minRuns: MIN_RUNS, checkIntervalMs: CHECK_INTERVAL_MS, vacuumMinPages: VACUUM_MIN_PAGES, vacuumIntervalMs: VACUUM_INTERVAL_MS },
  });
}

function stateOf(db: Db): State {
  const { states } = registry();
  let state = states.get(db);
  if (!state) {
    state = { created: 0, base: 0, running: null, checkedAt: 0, checking: null, vacuumedAt: 0 };
    states.set(db, state);
  }
  return state;
}

/** Tests lower the threshold to see an ANALYZE without creating a thousand runs. */
export function setAnalyzeThreshold(minRuns: number = MIN_RUNS): void {
  registry().settings.minRuns = minRuns;
}

function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}

// A table locked by a migration or a VACUUM FULL must not hold up the reads waiting on a check or an ANALYZE:
// each gives up quickly on a lock (logged; the read runs on the statistics there are) and has a time limit.
const CHECK_LIMITS = { lockMs: 200, statementMs: 2000 };
const ANALYZE_LIMITS = { lockMs: 1000, statementMs: 60_000 };
const VACUUM_LIMITS = { lockMs: 1000, statementMs: 10 * 60_000 };

/** Runs `fn` in a transaction whose statements give up after the limits (SET LOCAL: the connection is left as it was). */
function bounded<T>(db: Db, limits: { lockMs: number; statementMs: number }, fn: (tx: DbOrTx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('lock_timeout', ${String(limits.lockMs)}, true), set_config('statement_timeout', ${String(limits.statementMs)}, true)`);
    return fn(tx);
  });
}

/** VACUUM (ANALYZE) of the tracking tables on a connection of its own, its limits reset before it is returned. */
async function vacuumAnalyze(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`select set_config('lock_timeout', '${VACUUM_LIMITS.lockMs}', false), set_config('statement_timeout', '${VACUUM_LIMITS.statementMs}', false)`);
    await client.query(`vacuum (analyze, skip_locked) ${TABLE_NAMES.join(", ")}`);
  } finally {
    await client.query("reset lock_timeout; reset statement_timeout").catch(() => undefined);
    client.release();
  }
}

/**
 * Analyses the tracking tables (one round at a time per database); resolves when done, never rejects.
 * `vacuum`: on PostgreSQL, a VACUUM (ANALYZE) — for the background rounds, not for a read that waits.
 */
function analyze(db: Db, s: State, vacuum = false): Promise<void> {
  if (s.running) return s.running;
  s.created = 0;
  const pool = vacuum ? poolOf(db) : undefined;
  if (pool) s.vacuumedAt = Date.now();
  s.running = (async () => {
    if (pool) await vacuumAnalyze(pool);
    const result = await bounded(db, ANALYZE_LIMITS, async (tx) => {
      if (!pool) await tx.execute(sql`analyze ${TABLES}`);
      return tx.execute(sql`select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'runs'::regclass`);
    });
    s.base = Number(rowsOf<{ n: number }>(result)[0]?.n ?? 0);
  })()
    .catch((err: unknown) => {
      s.checkedAt = Date.now() + BACKOFF_MS;
      log.warn("analysing the tracking tables failed", { err });
    })
    .finally(() => { s.running = null; });
  return s.running;
}

/** Counts `n` runs created; starts a background ANALYZE of the tracking tables when enough have been. */
export function noteRunsCreated(db: Db, n: number): void {
  const state = stateOf(db);
  state.created += n;
  if (state.running || state.created < Math.max(registry().settings.minRuns, state.base * GROWTH)) return;
  void analyze(db, state, true);
}

export type TableStatistics = {
  table: string; pages: number; analysedPages: number; analysedRows: number; changedSinceAnalyze: number; hasColumnStatistics: boolean;
  /** Pages marked all-visible when the table was last vacuumed or analysed (pg_class.relallvisible). */
  allVisiblePages: number;
};

/** What the planner was last told about each tracking table, beside its size now (one catalog query). */
export async function trackingTableStatistics(db: Db): Promise<TableStatistics[]> {
  const names = sql.join(TABLE_NAMES.map((t) => sql`${t}::regclass`), sql`, `);
  const result = await bounded(db, CHECK_LIMITS, (tx) => tx.execute(sql`
    select c.relname as "table",
           (pg_relation_size(c.oid) / current_setting('block_size')::int)::float8 as pages,
           c.relpages::float8 as "analysedPages",
           greatest(c.reltuples, 0)::float8 as "analysedRows",
           coalesce(s.n_mod_since_analyze, 0)::float8 as "changedSinceAnalyze",
           c.relallvisible::float8 as "allVisiblePages",
           exists (select 1 from pg_stats p where p.schemaname = n.nspname and p.tablename = c.relname) as "hasColumnStatistics"
    from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_stat_user_tables s on s.relid = c.oid
    where c.oid in (${names})`));
  return rowsOf<TableStatistics>(result).map((r) => ({
    table: r.table, pages: Number(r.pages), analysedPages: Number(r.analysedPages), analysedRows: Number(r.analysedRows), changedSinceAnalyze: Number(r.changedSinceAnalyze), hasColumnStatistics: Boolean(r.hasColumnStatistics),
    allVisiblePages: Number(r.allVisiblePages),
  }));
}

/**
 * How far the planner's figures for a table are from the table: "grown" (a fifth more pages than its last
 * ANALYZE saw, and a megabyte — what a bulk load or restore leaves, the plan-cliff risk; or a megabyte and no
 * column statistics at all, as a restore followed by a plain VACUUM leaves it), "changed" (a fifth of
 * its rows written since — updates of latest metrics, mostly: worth a background ANALYZE, not a wait) or "current".
 */
/** Most of a sizeable table's pages not marked all-visible: its index-only scans visit the table for most entries. */
export function needsVacuum(t: TableStatistics): boolean {
  return t.analysedPages >= registry().settings.vacuumMinPages && t.allVisiblePages < t.analysedPages / 2;
}

export function staleness(t: TableStatistics): "grown" | "changed" | "current" {
  if (t.pages - t.analysedPages > Math.max(MIN_PAGES, t.analysedPages * GROWTH)) return "grown";
  if (!t.hasColumnStatistics && t.pages > MIN_PAGES) return "grown";
  if (t.changedSinceAnalyze > Math.max(MIN_CHANGES, t.analysedRows * GROWTH)) return "changed";
  return "current";
}

/**
 * Makes the tracking tables' statistics current enough to plan a search on: checks them at most every few
 * seconds per process and, when stale (a bulk load or restore bypassed the ingest path), analyses them and
 * waits for that. Call before a search's query, outside its transaction. Never throws: a failure is logged
 * and the search runs on the statistics there are.
 */
export function freshStatistics(db: Db): Promise<void> {
  const s = stateOf(db);
  if (s.checking) return s.checking;
  if (Date.now() - s.checkedAt < registry().settings.checkIntervalMs) return Promise.resolve();
  s.checkedAt = Date.now();
  s.checking = (async () => {
    const tables = await trackingTableStatistics(db);
    const grown = tables.filter((t) => staleness(t) === "grown");
    if (grown.length > 0) {
      log.info("the tracking tables grew since their planner statistics (a bulk load or restore?): analysing them before the search", { tables: grown });
      await analyze(db, s);
    } else if (tables.some((t) => staleness(t) === "changed")) {
      void analyze(db, s, true);
    } else if (poolOf(db) && Date.now() - s.vacuumedAt > registry().settings.vacuumIntervalMs && tables.some(needsVacuum)) {
      log.info("most pages of a tracking table are not marked all-visible (a bulk load?): vacuuming the tables in the background", { tables: tables.filter(needsVacuum) });
      void analyze(db, s, true);
    }
  })()
    .catch((err: unknown) => {
      s.checkedAt = Date.now() + BACKOFF_MS;
      log.warn("checking the tracking tables' planner statistics failed", { err });
    })
    .finally(() => {
      s.checkedAt = Math.max(s.checkedAt, Date.now());
      s.checking = null;
    });
  return s.checking;
}

/** The ANALYZE in progress for `db`, if any (tests wait for it). */
export function analyzing(db: Db): Promise<void> | null {
  return registry().states.get(db)?.running ?? null;
}

/** Tests vacuum the small tables they load, and without waiting for the interval. */
export function setVacuumThresholds(minPages: number = VACUUM_MIN_PAGES, intervalMs: number = VACUUM_INTERVAL_MS): void {
  registry().settings.vacuumMinPages = minPages;
  registry().settings.vacuumIntervalMs = intervalMs;
}

/** Tests lengthen the interval between checks so that a slow machine does not pass it unseen. */
export function setStatisticsCheckInterval(ms: number = CHECK_INTERVAL_MS): void {
  registry().settings.checkIntervalMs = ms;
}

/**
 * Forgets when `db` was last checked, so the next read checks again: after a statement timeout (a plan gone
 * wrong on statistics a load in the last few seconds made stale), and in tests.
 */
export function forgetStatisticsCheck(db: DbOrTx): void {
  const state = registry().states.get(db as Db);
  if (state) state.checkedAt = 0;
}
