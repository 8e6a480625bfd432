// Planner statistics kept current by the ingest path. A search plan depends on how many runs, tags, params
// and metrics PostgreSQL believes there are; right after a bulk load, before autovacuum's next round (a
// minute, and only once 10% of a table changed), it believes the tables empty and may pick a plan that
// walks every run (issue 20: a tag filter took 5 s until the tables were analysed). So each process counts
// the runs it creates and, once they reach MIN_RUNS or a fifth of what the last ANALYZE counted, analyses
// the tracking tables in the background (one at a time; ANALYZE samples, so it stays cheap at any size,
// and it does not block writers).
import { sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { log } from "../observability/log";

const MIN_RUNS = 1000;
const GROWTH = 0.2;
const TABLES = sql.raw("runs, run_tags, params, latest_metrics");

type State = { created: number; base: number; running: Promise<void> | null };
const states = new WeakMap<Db, State>();
const settings = { minRuns: MIN_RUNS };

/** Tests lower the threshold to see an ANALYZE without creating a thousand runs. */
export function setAnalyzeThreshold(minRuns: number = MIN_RUNS): void {
  settings.minRuns = minRuns;
}

/** Counts `n` runs created; starts a background ANALYZE of the tracking tables when enough have been. */
export function noteRunsCreated(db: Db, n: number): void {
  let state = states.get(db);
  if (!state) {
    state = { created: 0, base: 0, running: null };
    states.set(db, state);
  }
  state.created += n;
  if (state.running || state.created < Math.max(settings.minRuns, state.base * GROWTH)) return;
  const s = state;
  s.created = 0;
  s.running = (async () => {
    await db.execute(sql`analyze ${TABLES}`);
    const result = await db.execute(sql`select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'runs'::regclass`);
    s.base = Number((result as unknown as { rows: { n: number }[] }).rows[0]?.n ?? 0);
  })()
    .catch((err: unknown) => log.warn("analysing the tracking tables failed", { err }))
    .finally(() => { s.running = null; });
}

/** The ANALYZE in progress for `db`, if any (tests wait for it). */
export function analyzing(db: Db): Promise<void> | null {
  return states.get(db)?.running ?? null;
}
