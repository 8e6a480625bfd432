// Budgets that act. Each team's month (calendar month, UTC) is measured against the thresholds an admin sets
// with its quota: past "warn" new work goes ahead with a note, past "approval" only the team's leads (and admins)
// start new jobs and deploys until a lead grants an extension, past "block" nobody does until an admin raises
// the budget or the month turns. Nothing running is ever stopped: only new jobs and new deploys are checked.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { LIVE_DEPLOYMENT_STATUSES, budgetExtensions, costLedger, deployments, jobs, memberships, teamQuotas, teams, users } from "@/db/schema";
import type { BudgetStepName } from "@/db/schema";
import type { BudgetExtensionDto, BudgetNote, BudgetStateDto, BudgetStep } from "@/lib/schemas/costs";
import { formatUsd } from "@/lib/format";
import type { Actor } from "../auth/actor";
import { can } from "../auth/policy";
import { replicaPrice } from "./prices";

const H = 3_600_000;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** The calendar month (UTC) `now` falls in: its first day ("2026-12-01"), start and end. */
export function monthOf(now: Date): { month: string; start: Date; end: Date } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { month: start.toISOString().slice(0, 10), start, end };
}

/**
 * Month-end forecast: what was spent so far, plus the hours left in the month at whichever is higher — the hourly
 * cost of what runs now (running jobs at their price, live deployments' replicas at the replica price) or the
 * month's average hourly spend so far (at least one hour elapsed, so the first minutes of a month do not explode).
 */
export function forecastMonthEnd(input: { spent: number; runningHourly: number; now: Date }): { forecast: number; averageHourly: number; hoursLeft: number } {
  const { start, end } = monthOf(input.now);
  const elapsedHours = Math.max(1, (input.now.getTime() - start.getTime()) / H);
  const hoursLeft = Math.max(0, (end.getTime() - input.now.getTime()) / H);
  const averageHourly = input.spent / elapsedHours;
  return { forecast: round2(input.spent + Math.max(input.runningHourly, averageHourly) * hoursLeft), averageHourly, hoursLeft };
}

type TeamBudgetRow = {
  id: string; slug: string; budget: number | null;
  warnPct: number | null; approvalPct: number | null; blockPct: number | null; webhookUrl: string | null;
};

export type BudgetState = Omit<BudgetStateDto, "viewer" | "message"> & { teamId: string; webhookUrl: string | null; month: string; monthEnd: Date };

function lineOf(budget: number | null, pct: number | null): number | null {
  return budget && pct !== null ? round2((budget * pct) / 100) : null;
}

/** Which step a spend is at (the highest line it has reached). */
export function stepOf(spent: number, lines: BudgetState["lines"]): BudgetStep {
  if (lines.block_usd !== null && spent >= lines.block_usd) return "block";
  if (lines.approval_usd !== null && spent >= lines.approval_usd) return "approval";
  if (lines.warn_usd !== null && spent >= lines.warn_usd) return "warn";
  return "ok";
}

/**
 * Every given team's budget state at `now` (all unarchived teams when `teamIds` is undefined), in a handful of
 * queries. The caller has scoped `teamIds` to what the actor may read. A team without a quota row, or with a
 * budget of 0, has no budget: its steps never trigger.
 */
export async function budgetStates(db: DbOrTx, teamIds: string[] | undefined, now = new Date()): Promise<BudgetState[]> {
  if (teamIds?.length === 0) return [];
  const { month, start, end } = monthOf(now);
  const rows: TeamBudgetRow[] = await db
    .select({
      id: teams.id, slug: teams.slug, budget: teamQuotas.monthlyBudgetUsd,
      warnPct: teamQuotas.budgetWarnPct, approvalPct: teamQuotas.budgetApprovalPct, blockPct: teamQuotas.budgetBlockPct, webhookUrl: teamQuotas.budgetWebhookUrl,
    })
    .from(teams)
    .leftJoin(teamQuotas, eq(teamQuotas.teamId, teams.id))
    .where(and(teamIds ? inArray(teams.id, teamIds) : undefined, sql`${teams.archivedAt} is null`))
    .orderBy(teams.slug);
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [spent, runningJobs, liveReplicas, price, extensions, leads] = await Promise.all([
    db.select({ teamId: costLedger.teamId, amount: sql<number>`coalesce(sum(${costLedger.amountUsd}), 0)::float8` }).from(costLedger)
      .where(and(inArray(costLedger.teamId, ids), sql`${costLedger.periodStart} >= ${start.toISOString()}::timestamptz`, sql`${costLedger.periodStart} < ${end.toISOString()}::timestamptz`))
      .groupBy(costLedger.teamId),
    db.select({ teamId: jobs.teamId, hourly: sql<number>`coalesce(sum(${jobs.hourlyPriceUsd}), 0)::float8` }).from(jobs)
      .where(and(inArray(jobs.teamId, ids), eq(jobs.status, "running"))).groupBy(jobs.teamId),
    db.select({ teamId: deployments.teamId, replicas: sql<number>`coalesce(sum(${deployments.replicas}), 0)::int` }).from(deployments)
      .where(and(inArray(deployments.teamId, ids), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]))).groupBy(deployments.teamId),
    replicaPrice(db),
    db.select({ ext: budgetExtensions, team: teams.slug }).from(budgetExtensions).innerJoin(teams, eq(teams.id, budgetExtensions.teamId))
      .where(and(inArray(budgetExtensions.teamId, ids), eq(budgetExtensions.month, month))).orderBy(budgetExtensions.createdAt),
    db.select({ teamId: memberships.teamId, email: users.email }).from(memberships).innerJoin(users, eq(users.id, memberships.userId))
      .where(and(inArray(memberships.teamId, ids), eq(memberships.role, "team_lead"))).orderBy(users.email),
  ]);
  const spentBy = new Map(spent.map((r) => [r.teamId, Number(r.amount)]));
  const jobsBy = new Map(runningJobs.map((r) => [r.teamId, Number(r.hourly)]));
  const replicasBy = new Map(liveReplicas.map((r) => [r.teamId, Number(r.replicas)]));
  return rows.map((r) => {
    // A budget of 0 is "no budget" for the steps (the quota form's way to have none); the figure is shown as it is.
    const budget = r.budget === null || Number(r.budget) === 0 ? null : Number(r.budget);
    const spentUsd = round2(spentBy.get(r.id) ?? 0);
    const runningHourly = (jobsBy.get(r.id) ?? 0) + (replicasBy.get(r.id) ?? 0) * price.hourly;
    const { forecast, averageHourly, hoursLeft } = forecastMonthEnd({ spent: spentBy.get(r.id) ?? 0, runningHourly, now });
    const exts: BudgetExtensionDto[] = extensions.filter((e) => e.ext.teamId === r.id).map(({ ext, team }) => ({
      id: ext.id, team, month: ext.month, amount_usd: Number(ext.amountUsd), reason: ext.reason, granted_by: ext.grantedByEmail, created_at: ext.createdAt.toISOString(),
    }));
    const extensionsUsd = round2(exts.reduce((a, e) => a + e.amount_usd, 0));
    const approval = lineOf(budget, r.approvalPct);
    const lines = { warn_usd: lineOf(budget, r.warnPct), approval_usd: approval === null ? null : round2(approval + extensionsUsd), block_usd: lineOf(budget, r.blockPct) };
    return {
      teamId: r.id, team: r.slug, webhookUrl: r.webhookUrl, month, monthEnd: end,
      monthly_budget_usd: r.budget === null ? null : Number(r.budget), spent_this_month_usd: spentUsd, share: budget ? Math.round((spentUsd / budget) * 1000) / 1000 : null,
      forecast_month_end_usd: forecast,
      forecast: { running_hourly_usd: round2(runningHourly), average_hourly_usd: round2(averageHourly), hours_left: Math.round(hoursLeft * 10) / 10 },
      thresholds: { warn_pct: r.warnPct, approval_pct: r.approvalPct, block_pct: r.blockPct },
      lines, extensions_usd: extensionsUsd, extensions: exts, step: stepOf(spentUsd, lines),
      approvers: leads.filter((l) => l.teamId === r.id).map((l) => l.email),
    };
  });
}

function pctOf(s: BudgetState, step: BudgetStepName): string {
  const pct = step === "warn" ? s.thresholds.warn_pct : step === "approval" ? s.thresholds.approval_pct : s.thresholds.block_pct;
  return `${pct} % of the ${formatUsd(s.monthly_budget_usd ?? 0)} monthly budget`;
}

export function lineFor(s: BudgetState, step: BudgetStepName): number {
  return (step === "warn" ? s.lines.warn_usd : step === "approval" ? s.lines.approval_usd : s.lines.block_usd) ?? 0;
}

function leadsText(s: BudgetState): string {
  return s.approvers.length ? `a team lead of ${s.team} (${s.approvers.join(", ")})` : `a platform admin (${s.team} has no team lead)`;
}

/** What a step means, in the words the banner, the webhook and the API error use. */
export function stepMessage(s: BudgetState, step: BudgetStepName): string {
  const spent = `Team ${s.team} has spent ${formatUsd(s.spent_this_month_usd)} this month`;
  const line = formatUsd(lineFor(s, step));
  const turns = s.monthEnd.toISOString().slice(0, 10);
  switch (step) {
    case "warn":
      return `${spent}, past its warning line of ${line} (${pctOf(s, "warn")}); the month is forecast to end at ${formatUsd(s.forecast_month_end_usd)}.`;
    case "approval": {
      const ext = s.extensions_usd ? ` plus ${formatUsd(s.extensions_usd)} of extensions` : "";
      return `${spent}, past its approval line of ${line} (${pctOf(s, "approval")}${ext}): new jobs and deploys need a team lead's approval. Ask ${leadsText(s)} to grant a budget extension on the Costs page. Running jobs and deployments keep running.`;
    }
    case "block":
      return `${spent}, past its block line of ${line} (${pctOf(s, "block")}): new jobs and deploys are refused for everyone until an admin raises the budget or the month turns (${turns} UTC). Running jobs and deployments keep running.`;
  }
}

/** Whether `actor` may start new work at this state (admins and the team's leads pass the approval step). */
export function refusedFor(actor: Actor, s: Pick<BudgetState, "step" | "teamId">): boolean {
  if (s.step === "block") return true;
  if (s.step === "approval") return !can(actor, "approve_production", s.teamId);
  return false;
}

export function toDto(actor: Actor, s: BudgetState): BudgetStateDto {
  const { teamId, webhookUrl: _webhook, month: _month, monthEnd: _end, ...rest } = s;
  return {
    ...rest,
    message: s.step === "ok" ? null : stepMessage(s, s.step),
    viewer: { refused: refusedFor(actor, s), can_extend: can(actor, "approve_production", teamId) },
  };
}

export function noteOf(s: BudgetState): BudgetNote | null {
  if (s.step === "ok") return null;
  return { step: s.step, message: stepMessage(s, s.step), spent_usd: s.spent_this_month_usd, threshold_usd: lineFor(s, s.step) };
}
