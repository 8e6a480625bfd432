// The median stopping rule (Google Vizier's; Optuna's MedianPruner): a running trial whose best objective value up
// to its latest step s is worse than the median of the finished trials' values at s is stopped — once at least
// `minTrials` finished trials reached s and the trial is past `minSteps`.
import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { metrics } from "@/db/schema";

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export type Verdict = { step: number; best: number; median: number; compared: number };

/** Null: let the trial go on; else why it should stop. `others`: the finished trials' values at `step`. */
export function medianRuleVerdict(input: { direction: "minimize" | "maximize"; minTrials: number; minSteps: number; step: number; best: number; others: number[] }): Verdict | null {
  if (input.step < input.minSteps || input.others.length < input.minTrials) return null;
  const sign = input.direction === "minimize" ? 1 : -1;
  const m = median(input.others);
  return sign * input.best > sign * m ? { step: input.step, best: input.best, median: m, compared: input.others.length } : null;
}

/** A running trial's latest step of `key` and its best value so far (null before its first point). */
export async function progressOf(db: DbOrTx, runId: string, key: string, direction: "minimize" | "maximize"): Promise<{ step: number; best: number } | null> {
  const [row] = await db
    .select({ step: sql<string | null>`max(${metrics.step})`, best: direction === "minimize" ? sql<number | null>`min(${metrics.value})` : sql<number | null>`max(${metrics.value})` })
    .from(metrics)
    .where(and(eq(metrics.runId, runId), eq(metrics.key, key)));
  return row?.step === null || row?.step === undefined || row.best === null ? null : { step: Number(row.step), best: Number(row.best) };
}

/**
 * The value each of `runIds` had at `step` (its last point at or before it), for the runs that logged `key` as far
 * as `step`. One index range per run (metrics_point_uq: run, key, step, timestamp), however long the histories.
 */
export async function valuesAtStep(db: DbOrTx, runIds: string[], key: string, step: number): Promise<number[]> {
  if (runIds.length === 0) return [];
  const ids = sql.join(runIds.map((id) => sql`${id}`), sql`, `);
  const result = await db.execute(sql`
    select distinct on (m.run_id) m.value
    from metrics m
    where m.run_id in (${ids}) and m.key = ${key} and m.step <= ${step}
      and exists (select 1 from metrics r where r.run_id = m.run_id and r.key = ${key} and r.step >= ${step})
    order by m.run_id, m.step desc, m.timestamp desc`);
  return (result as unknown as { rows: { value: number | string }[] }).rows.map((r) => Number(r.value));
}
