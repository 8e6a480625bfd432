// The experiment chart panel's data over every run in the runs table's filter: chosen keys' values per run
// (parallel coordinates, scatter), one metric's history for all runs downsampled to a per-run budget (one
// request, read from the rollups for long runs), and parameter importance (importance.ts).
import { and, asc, count, desc, eq, inArray, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { experimentRunStats, latestMetrics, params, runs } from "@/db/schema";
import type { ChartKey, ChartRunsDto, ChartHistoriesDto } from "@/lib/schemas/charts";
import { CHART_ATTRIBUTES, CHART_RUN_LIMIT } from "@/lib/schemas/charts";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadExperiment } from "./access";
import type { ExperimentRef } from "./access";
import { withStatementTimeout, withTeamSlot } from "./query-budget";
import { ROLLUP_LEVELS, foldQueuedExperiment, rollupWidth } from "./rollups";
import { parseSearch } from "./run-page";
import { freshStatistics } from "./statistics";

export type ChartScopeInput = { experimentId: string; filter?: string };

type Scope = { exp: ExperimentRef; where: SQL | undefined; filtered: boolean };

async function chartScope(ctx: Ctx, input: ChartScopeInput): Promise<Scope> {
  const exp = await loadExperiment(ctx, input.experimentId, { mode: "read" });
  const { where } = parseSearch(input.filter ?? "", []);
  // Planned on current statistics, as searches are (statistics.ts): a chart after a bulk load waits for one ANALYZE.
  await freshStatistics(ctx.db);
  const scope = and(eq(runs.experimentId, exp.id), eq(runs.teamId, exp.teamId), eq(runs.lifecycleStage, "active"), where);
  return { exp, where: scope, filtered: where !== undefined };
}

/** A chart read holds one of the team's query slots when filtered, and runs under the statement timeout. */
function budgeted<T>(ctx: Ctx, scope: Scope, fn: (db: DbOrTx) => Promise<T>): Promise<T> {
  const read = () => withStatementTimeout(ctx.db, "search", fn);
  return scope.filtered ? withTeamSlot({ id: scope.exp.teamId, slug: scope.exp.teamSlug }, "search", read) : read();
}

/** The runs a chart covers: the newest CHART_RUN_LIMIT runs of the filter (the panel says when there are more). */
function chosenRuns(db: DbOrTx, scope: Scope) {
  return db.select({ id: runs.id }).from(runs).where(scope.where).orderBy(desc(runs.startTime), asc(runs.id)).limit(CHART_RUN_LIMIT);
}

function parseKey(key: ChartKey): { kind: "params" | "metrics" | "attributes"; name: string } {
  const dot = key.indexOf(".");
  return { kind: key.slice(0, dot) as "params" | "metrics" | "attributes", name: key.slice(dot + 1) };
}

/** Each run of the filter (newest first, at most CHART_RUN_LIMIT) with the values of `keys`, one array per key. */
export async function chartRuns(ctx: Ctx, input: ChartScopeInput & { keys: ChartKey[] }): Promise<ChartRunsDto> {
  const scope = await chartScope(ctx, input);
  const parsed = input.keys.map(parseKey);
  const unknownAttr = parsed.find((k) => k.kind === "attributes" && !(CHART_ATTRIBUTES as readonly string[]).includes(k.name));
  if (unknownAttr) throw new AppError("invalid_input", `Unknown attribute "${unknownAttr.name}": use one of ${CHART_ATTRIBUTES.join(", ")}.`, { fields: { keys: ["unknown attribute"] } });
  const paramKeys = [...new Set(parsed.filter((k) => k.kind === "params").map((k) => k.name))];
  const metricKeys = [...new Set(parsed.filter((k) => k.kind === "metrics").map((k) => k.name))];
  return budgeted(ctx, scope, async (db) => {
    const list = await db
      .select({ id: runs.id, name: runs.name, status: runs.status, parent: runs.parentRunId, userId: runs.userId, start: runs.startTime, end: runs.endTime })
      .from(runs).where(scope.where).orderBy(desc(runs.startTime), asc(runs.id)).limit(CHART_RUN_LIMIT);
    // The total: the list itself when it holds them all; else the experiment's kept count (migration 0036)
    // when unfiltered; a count of the filter's runs only when the filter matches more than the chart shows.
    const total = list.length < CHART_RUN_LIMIT
      ? list.length
      : scope.filtered
        ? Number((await db.select({ n: count() }).from(runs).where(scope.where))[0]?.n ?? 0)
        : Number((await db.select({ n: experimentRunStats.activeRuns }).from(experimentRunStats).where(eq(experimentRunStats.experimentId, scope.exp.id)))[0]?.n ?? list.length);
    const index = new Map(list.map((r, i) => [r.id, i]));
    const values: Record<string, (number | string | null)[]> = {};
    const column = (key: string) => (values[key] ??= new Array<number | string | null>(list.length).fill(null));
    for (const k of input.keys) column(k);
    if (paramKeys.length > 0 && list.length > 0) {
      const rows = await db.select({ runId: params.runId, key: params.key, value: params.value }).from(params)
        .where(and(inArray(params.runId, chosenRuns(db, scope)), inArray(params.key, paramKeys)));
      for (const r of rows) column(`params.${r.key}`)[index.get(r.runId)!] = r.value;
    }
    if (metricKeys.length > 0 && list.length > 0) {
      const rows = await db.select({ runId: latestMetrics.runId, key: latestMetrics.key, value: latestMetrics.value }).from(latestMetrics)
        .where(and(inArray(latestMetrics.runId, chosenRuns(db, scope)), inArray(latestMetrics.key, metricKeys)));
      // NaN and ±Infinity are not plotted (JSON cannot carry them either).
      for (const r of rows) if (Number.isFinite(r.value)) column(`metrics.${r.key}`)[index.get(r.runId)!] = r.value;
    }
    for (const { kind, name } of parsed) {
      if (kind !== "attributes") continue;
      const col = column(`attributes.${name}`);
      list.forEach((r, i) => {
        col[i] = name === "run_name" ? r.name : name === "status" ? r.status : name === "user_id" ? r.userId
          : name === "start_time" ? r.start : name === "end_time" ? r.end : r.end === null ? null : (r.end - r.start) / 1000;
      });
    }
    return {
      total,
      truncated: total > list.length,
      runs: list.map((r) => ({ run_id: r.id, run_name: r.name, status: r.status, parent_run_id: r.parent })),
      values,
    };
  });
}

/** Points the whole answer may carry: the per-run budget shrinks as runs grow (at 10,000 runs, 20 points each). */
const TOTAL_POINT_BUDGET = 200_000;
const MIN_POINTS_PER_RUN = 8;
const TOP_LEVEL = ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!;
const FINEST = rollupWidth(ROLLUP_LEVELS[0]);

type P = { step: number; value: number };

/**
 * One metric's history for every run of the filter: runs within the per-run budget as logged; longer runs from
 * the rollups (each bucket's first, last, minimum and maximum point, so spikes survive), and where a run's steps
 * span too few rollup buckets to fill the budget, every k-th raw point besides.
 */
export async function chartHistories(ctx: Ctx, input: ChartScopeInput & { metric: string; maxPoints: number }): Promise<ChartHistoriesDto> {
  const scope = await chartScope(ctx, input);
  return budgeted(ctx, scope, async (db) => {
    // The rollups read below hold every point written before this read once the experiment's queued points are
    // folded: inside the read's budget (the team's slot when filtered, the statement timeout), as its own work.
    await foldQueuedExperiment(db, scope.exp.id);
    const chosen = chosenRuns(db, scope);
    // Per run: points logged and step range, from the top rollup level (a few rows per run).
    const stats = await db.execute(sql`
      select run_id, sum(n)::int as n, min(first_step) as lo, max(last_step) as hi
      from metric_rollups where key = ${input.metric} and level = ${TOP_LEVEL} and run_id in (${chosen})
      group by run_id`) as unknown as { rows: { run_id: string; n: number | string; lo: number | string; hi: number | string }[] };
    const runCount = stats.rows.length;
    const budget = Math.max(MIN_POINTS_PER_RUN, Math.min(input.maxPoints, Math.floor(TOTAL_POINT_BUDGET / Math.max(1, runCount))));
    const series = new Map<string, { total: number; sampled: boolean; points: P[] }>();
    const long: { id: string; lo: number; hi: number; level: number }[] = [];
    let medium = 0;
    for (const r of stats.rows) {
      const n = Number(r.n);
      const lo = Number(r.lo);
      const hi = Number(r.hi);
      series.set(r.run_id, { total: n, sampled: n > budget, points: [] });
      if (n <= budget) continue;
      // Too few steps for the finest rollup level to fill half the budget: its buckets' extremes, plus every k-th
      // raw point for the other half (same rule in SQL below; a plain filtered scan, no sort per bucket).
      if (Math.ceil((hi - lo + 1) / FINEST) * 4 <= budget / 2) {
        medium++;
        long.push({ id: r.run_id, lo, hi, level: ROLLUP_LEVELS[0] });
        continue;
      }
      // The finest level whose buckets (4 points each) fit the budget over this run's steps.
      const level = ROLLUP_LEVELS.find((l) => Math.ceil((hi - lo + 1) / rollupWidth(l)) * 4 <= budget) ?? TOP_LEVEL;
      long.push({ id: r.run_id, lo, hi, level });
    }
    const finite = sql`m.value not in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)`;
    const push = (rows: { run_id: string; step: number | string; value: number | string }[]) => {
      for (const r of rows) series.get(r.run_id)?.points.push({ step: Number(r.step), value: Number(r.value) });
    };
    if (runCount > long.length) {
      const raw = await db.execute(sql`
        select m.run_id, m.step, m.value from metrics m
        join (select run_id from metric_rollups where key = ${input.metric} and level = ${TOP_LEVEL} and run_id in (${chosen})
              group by run_id having sum(n) <= ${budget}) s on s.run_id = m.run_id
        where m.key = ${input.metric} and ${finite}
        order by m.run_id, m.step, m.timestamp`) as unknown as { rows: { run_id: string; step: number | string; value: number | string }[] };
      push(raw.rows);
    }
    if (medium > 0) {
      const half = Math.max(1, Math.floor(budget / 2));
      const strided = await db.execute(sql`
        with s as (
          select run_id, min(first_step) as lo, max(last_step) as hi from metric_rollups
          where key = ${input.metric} and level = ${TOP_LEVEL} and run_id in (${chosen})
          group by run_id having sum(n) > ${budget} and ceil((max(last_step) - min(first_step) + 1)::float8 / ${FINEST}) * 4 <= ${budget / 2}
        )
        select m.run_id, m.step, m.value from metrics m join s on s.run_id = m.run_id
        where m.key = ${input.metric} and ${finite}
          and ((m.step - s.lo) % greatest(1, ceil((s.hi - s.lo + 1)::float8 / ${half})::bigint) = 0 or m.step = s.hi)`) as unknown as { rows: { run_id: string; step: number | string; value: number | string }[] };
      push(strided.rows);
    }
    for (const level of ROLLUP_LEVELS) {
      const ids = long.filter((l) => l.level === level).map((l) => l.id);
      if (ids.length === 0) continue;
      const rows = await db.execute(sql`
        select run_id, first_step, first_value, last_step, last_value, min_step, min_value, max_step, max_value
        from metric_rollups where key = ${input.metric} and level = ${level}
          and run_id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})
        order by run_id, bucket`) as unknown as { rows: Record<string, number | string>[] };
      const byRun = new Map<string, Record<string, number | string>[]>();
      for (const r of rows.rows) {
        const list = byRun.get(String(r.run_id)) ?? [];
        list.push(r);
        byRun.set(String(r.run_id), list);
      }
      for (const l of long.filter((x) => x.level === level)) series.get(l.id)!.points.push(...mergeBuckets(byRun.get(l.id) ?? [], l.lo, l.hi, budget));
    }
    return {
      metric: input.metric,
      points_per_run: budget,
      runs: [...series.entries()].map(([run_id, s]) => {
        const points = s.sampled ? inStepOrder(s.points) : s.points;
        return { run_id, total_points: s.total, sampled: s.sampled, steps: points.map((p) => p.step), values: points.map((p) => p.value) };
      }),
    };
  });
}

/** Points by step, each (step, value) once. */
function inStepOrder(points: P[]): P[] {
  const unique = new Map(points.map((p) => [`${p.step}:${p.value}`, p]));
  return [...unique.values()].sort((a, b) => a.step - b.step);
}

/** Folds rollup buckets into at most budget/4 display buckets, keeping each one's first, last, min and max point. */
function mergeBuckets(rows: Record<string, number | string>[], lo: number, hi: number, budget: number): P[] {
  const buckets = Math.max(1, Math.floor(budget / 4));
  const span = hi - lo + 1;
  const display = new Map<number, { first: P; last: P; min: P; max: P }>();
  for (const r of rows) {
    const first = { step: Number(r.first_step), value: Number(r.first_value) };
    const last = { step: Number(r.last_step), value: Number(r.last_value) };
    const min = { step: Number(r.min_step), value: Number(r.min_value) };
    const max = { step: Number(r.max_step), value: Number(r.max_value) };
    const i = Math.min(buckets - 1, Math.max(0, Math.floor(((first.step - lo) * buckets) / span)));
    const d = display.get(i);
    if (!d) { display.set(i, { first, last, min, max }); continue; }
    if (first.step < d.first.step) d.first = first;
    if (last.step > d.last.step) d.last = last;
    if (min.value < d.min.value) d.min = min;
    if (max.value > d.max.value) d.max = max;
  }
  const points = new Map<string, P>();
  for (const d of display.values()) for (const p of [d.first, d.min, d.max, d.last]) points.set(`${p.step}:${p.value}`, p);
  return [...points.values()].sort((a, b) => a.step - b.step);
}
