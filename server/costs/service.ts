// GET /api/v1/costs: what the caller's teams (admins: every team) spent over a window, grouped by team,
// user, resource, kind, run or deployment, as totals and dense series (a point per step, zeros
// included), plus each team's month-to-date spend against its monthly budget.
import { and, eq, gte, inArray, isNotNull, lt, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { costLedger, teams } from "@/db/schema";
import type { BudgetStateDto } from "@/lib/schemas/costs";
import { readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { homeTeam } from "../tracking/access";
import { budgetsFor } from "./budget-service";

export const COST_AGGREGATES = ["team", "user", "resource", "kind", "run", "deployment"] as const;
export type CostAggregate = (typeof COST_AGGREGATES)[number];
export type CostsInput = { window?: string; aggregate?: CostAggregate; step?: string; team?: string };

export type Costs = {
  window: string;
  step: string;
  currency: "USD";
  aggregate: CostAggregate;
  totals: { key: string; amount: number }[];
  series: { key: string; points: [number, number][] }[];
  /** What a run or deployment key is called (its name; a deleted one's last known name), for display; other keys are names already. */
  labels: Record<string, string>;
  budgets: BudgetStateDto[];
};

const UNITS: Record<string, number> = { h: 3600, d: 86_400, w: 7 * 86_400 };
const MAX_POINTS = 2000;

export function duration(value: string, what: "window" | "step", min: number, max: number): number {
  const m = /^(\d{1,4})([hdw])$/.exec(value);
  const seconds = m ? Number(m[1]) * UNITS[m[2]!]! : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < min || seconds > max) {
    throw new AppError("invalid_input", `${what} must be a duration such as ${what === "window" ? "7d, 30d or 12w (1h to 400d)" : "1h, 1d or 1w (1h to 30d)"}; got '${value}'.`, { fields: { [what]: [`use a number with h, d or w`] } });
  }
  return seconds;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function keyOf(aggregate: CostAggregate): { key: SQL<string | null>; only?: SQL } {
  switch (aggregate) {
    case "team": return { key: sql<string>`${teams.slug}` };
    // Inline literal (not a parameter), so the select and group-by expressions are the same text.
    case "user": return { key: sql<string>`coalesce(nullif(${costLedger.userEmail}, ''), ${sql.raw("'team storage (no user)'")})` };
    case "resource": return { key: sql<string>`${costLedger.resource}` };
    case "kind": return { key: sql<string>`${costLedger.subjectKind}` };
    case "run": return { key: sql<string | null>`${costLedger.runId}`, only: isNotNull(costLedger.runId) };
    case "deployment": return { key: sql<string>`${costLedger.subjectId}`, only: eq(costLedger.subjectKind, "deployment") };
  }
}

export async function getCosts(ctx: Ctx, input: CostsInput): Promise<Costs> {
  const window = input.window ?? "30d";
  const step = input.step ?? "1d";
  const aggregate = input.aggregate ?? "team";
  const windowS = duration(window, "window", 3600, 400 * 86_400);
  const stepS = duration(step, "step", 3600, 30 * 86_400);
  if (windowS / stepS > MAX_POINTS) throw new AppError("invalid_input", `A ${window} window in steps of ${step} is over ${MAX_POINTS} points; use a longer step.`, { fields: { step: ["use a longer step"] } });
  const teamIds = input.team ? [(await homeTeam(ctx, input.team)).id] : readableTeamIds(ctx.actor);
  const end = Math.ceil(Date.now() / 1000 / stepS) * stepS;
  const start = end - Math.ceil(windowS / stepS) * stepS;
  const { key, only } = keyOf(aggregate);
  const scope = teamIds ? (teamIds.length ? inArray(costLedger.teamId, teamIds) : sql`false`) : undefined;
  // Buckets by whole steps since the epoch, so every caller sees the same boundaries.
  // The step inline (a validated whole number), so the select and group-by expressions are the same text.
  const stepSql = sql.raw(String(Math.trunc(stepS)));
  const bucket = sql<number>`(floor(extract(epoch from ${costLedger.periodStart}) / ${stepSql}) * ${stepSql})::bigint`;
  const rows = await ctx.db
    .select({ key, bucket, amount: sql<number>`sum(${costLedger.amountUsd})::float8` })
    .from(costLedger)
    .innerJoin(teams, eq(teams.id, costLedger.teamId))
    .where(and(scope, only, gte(costLedger.periodStart, new Date(start * 1000)), lt(costLedger.periodStart, new Date(end * 1000))))
    .groupBy(key, bucket);
  const byKey = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const k = r.key ?? "—";
    const points = byKey.get(k) ?? new Map<number, number>();
    points.set(Number(r.bucket), (points.get(Number(r.bucket)) ?? 0) + Number(r.amount));
    byKey.set(k, points);
  }
  const totals = [...byKey].map(([k, points]) => ({ key: k, amount: round2([...points.values()].reduce((a, b) => a + b, 0)) })).sort((a, b) => b.amount - a.amount || a.key.localeCompare(b.key));
  const series = totals.map(({ key: k }) => {
    const points = byKey.get(k)!;
    const dense: [number, number][] = [];
    for (let t = start; t < end; t += stepS) dense.push([t, round2(points.get(t) ?? 0)]);
    return { key: k, points: dense };
  });
  return { window, step, currency: "USD", aggregate, totals, series, labels: await labelsOf(ctx, aggregate, totals.map((t) => t.key)), budgets: await budgets(ctx, teamIds) };
}

/** Names for run and deployment keys: the run's name (else the one the ledger kept), the deployment's "model vN (environment)". */
async function labelsOf(ctx: Ctx, aggregate: CostAggregate, keys: string[]): Promise<Record<string, string>> {
  if ((aggregate !== "run" && aggregate !== "deployment") || keys.length === 0) return {};
  const name = aggregate === "run"
    ? sql<string | null>`max(coalesce((select r.name from runs r where r.id = ${costLedger.runId}), ${costLedger.runName}))`
    : sql<string | null>`max(${costLedger.subjectName})`;
  const key = aggregate === "run" ? costLedger.runId : costLedger.subjectId;
  const rows = await ctx.db
    .select({ key: sql<string>`${key}`, name })
    .from(costLedger)
    .where(and(inArray(key, keys), aggregate === "deployment" ? eq(costLedger.subjectKind, "deployment") : undefined))
    .groupBy(key);
  const out: Record<string, string> = {};
  const seen = new Map<string, number>();
  for (const k of keys) {
    const base = rows.find((r) => r.key === k)?.name ?? (aggregate === "run" ? "(unnamed run)" : "(deployment)");
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    out[k] = n === 1 ? base : `${base} (${n})`;
  }
  return out;
}

/**
 * Each team's month (calendar month, UTC): spend against its monthly budget, the month-end forecast and its budget
 * steps (server/costs/budget.ts), for the given teams (every team when undefined); the caller has scoped `teamIds`
 * to what the actor may read.
 */
export async function budgets(ctx: Ctx, teamIds: string[] | undefined): Promise<Costs["budgets"]> {
  return budgetsFor(ctx, teamIds);
}
