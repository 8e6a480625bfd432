// The budget steps where users meet them: the check every new job and deploy passes (a note at "warn", a refusal
// with code budget_exceeded at "approval" for non-leads and at "block" for everyone), the record of each step a
// team reaches (audited once per team, month and step, with a webhook owed), lead-granted extensions, and the
// state the pages and the API show.
import type { DbOrTx } from "@/db/client";
import { budgetAlerts, budgetExtensions } from "@/db/schema";
import type { BudgetStepName } from "@/db/schema";
import type { BudgetExtensionDto, BudgetExtensionInput, BudgetNote, BudgetStateDto } from "@/lib/schemas/costs";
import { SYSTEM_ACTOR } from "../auth/actor";
import { appendAudit, denied, recordAudit } from "../audit/record";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx, RequestInfo } from "../context";
import { AppError } from "../errors";
import { findTeamBySlug } from "../teams/lookup";
import { wake } from "../workers/registry";
import type { BudgetState } from "./budget";
import { budgetStates, lineFor, monthOf, noteOf, refusedFor, stepMessage, toDto } from "./budget";

const STEP_ORDER: BudgetStepName[] = ["warn", "approval", "block"];

/**
 * Records every step each team has reached this month and not recorded yet: one budget_alerts row per team, month
 * and step (the primary key makes it once, whoever gets there first), its audit row in the same transaction, and a
 * webhook delivery owed when the team has a webhook (the budgets worker sends it). Returns the rows written.
 */
export async function recordReachedSteps(db: DbOrTx, states: BudgetState[], request: RequestInfo, now = new Date()): Promise<number> {
  let written = 0;
  for (const s of states) {
    if (s.step === "ok") continue;
    const reached = STEP_ORDER.slice(0, STEP_ORDER.indexOf(s.step) + 1).filter((step) => {
      const line = step === "warn" ? s.lines.warn_usd : step === "approval" ? s.lines.approval_usd : s.lines.block_usd;
      return line !== null && s.spent_this_month_usd >= line;
    });
    for (const step of reached) {
      const message = stepMessage(s, step);
      const threshold = lineFor(s, step);
      written += await db.transaction(async (tx) => {
        const [row] = await tx.insert(budgetAlerts).values({
          teamId: s.teamId, month: s.month, step, reachedAt: now, spentUsd: s.spent_this_month_usd, thresholdUsd: threshold, message,
          webhookUrl: s.webhookUrl, webhookNextAt: s.webhookUrl ? now : null,
        }).onConflictDoNothing().returning({ step: budgetAlerts.step });
        if (!row) return 0;
        await appendAudit(tx, { actor: SYSTEM_ACTOR, request }, {
          action: "budget.step_reached", target: `team:${s.team}`, teamId: s.teamId, team: s.team,
          details: { step, month: s.month, spent_usd: s.spent_this_month_usd, threshold_usd: threshold, forecast_month_end_usd: s.forecast_month_end_usd, webhook: s.webhookUrl !== null },
        });
        return 1;
      });
    }
  }
  if (written > 0) wake("budgets");
  return written;
}

/**
 * The check a new job or deploy of `team` passes, by `ctx.actor`: null (under every line), a note (past a step
 * that lets this actor through), or a refusal — AppError budget_exceeded (403), audited as denied. Retries of
 * jobs, the scheduler's dispatching and scaling existing deployments do not come here.
 */
export async function checkBudget(ctx: Ctx, team: { id: string; slug: string }, what: { action: string; target: string }, now = new Date()): Promise<BudgetNote | null> {
  const [state] = await budgetStates(ctx.db, [team.id], now);
  if (!state || state.step === "ok") return null;
  await recordReachedSteps(ctx.db, [state], ctx.request, now);
  const note = noteOf(state)!;
  if (refusedFor(ctx.actor, state)) {
    await recordAudit(ctx, {
      action: what.action, target: what.target, teamId: team.id, team: team.slug, outcome: "denied",
      details: { reason: "budget_exceeded", step: state.step, spent_usd: note.spent_usd, threshold_usd: note.threshold_usd },
    });
    throw new AppError("budget_exceeded", note.message);
  }
  return note;
}

async function readableTeam(ctx: Ctx, slug: string, action: string): Promise<{ id: string; slug: string }> {
  const team = await findTeamBySlug(ctx.db, slug);
  if (!team || !can(ctx.actor, "read_data", team.id)) {
    throw await denied(ctx, { action, target: `team:${slug}`, teamId: team?.id, team: slug, mode: "read", message: `Team "${slug}" was not found.` });
  }
  return team;
}

/** One team's budget state for its members (team page, launch and deploy forms, GET /api/v1/teams/{slug}). */
export async function teamBudget(ctx: Ctx, slug: string): Promise<BudgetStateDto | null> {
  const team = await readableTeam(ctx, slug, "team.read");
  const [state] = await budgetStates(ctx.db, [team.id]);
  return state ? toDto(ctx.actor, state) : null;
}

/** Budget states of the teams the actor may read (admins: every team), or of `teamIds` already scoped by the caller. */
export async function budgetsFor(ctx: Ctx, teamIds: string[] | undefined = readableTeamIds(ctx.actor), now = new Date()): Promise<BudgetStateDto[]> {
  return (await budgetStates(ctx.db, teamIds, now)).map((s) => toDto(ctx.actor, s));
}

/**
 * POST /api/v1/teams/{slug}/budget-extensions: a team lead of the team (or an admin) raises this month's approval
 * line by `amount_usd`, with a reason; audited. It does not move the block line (only an admin's budget does).
 */
export async function grantBudgetExtension(ctx: Ctx, slug: string, input: BudgetExtensionInput, now = new Date()): Promise<BudgetExtensionDto> {
  const team = await readableTeam(ctx, slug, "budget.extend");
  if (!can(ctx.actor, "approve_production", team.id)) {
    throw await denied(ctx, { action: "budget.extend", target: `team:${slug}`, teamId: team.id, team: slug, mode: "write", message: `Only team leads of ${slug} and admins grant budget extensions.` });
  }
  const [state] = await budgetStates(ctx.db, [team.id], now);
  if (!state || state.monthly_budget_usd === null || state.thresholds.approval_pct === null) {
    throw new AppError("invalid_input", `Team ${slug} has no approval step this month (no monthly budget, or its approval threshold is off), so there is nothing to extend.`);
  }
  const { month } = monthOf(now);
  const row = await ctx.db.transaction(async (tx) => {
    const [saved] = await tx.insert(budgetExtensions).values({ teamId: team.id, month, amountUsd: input.amount_usd, reason: input.reason, grantedByEmail: ctx.actor.email, createdAt: now }).returning();
    await appendAudit(tx, ctx, {
      action: "budget.extend", target: `team:${slug}`, teamId: team.id, team: slug,
      details: { month, amount_usd: input.amount_usd, reason: input.reason, spent_usd: state.spent_this_month_usd, approval_line_before_usd: state.lines.approval_usd },
    });
    return saved!;
  });
  return { id: row.id, team: slug, month, amount_usd: Number(row.amountUsd), reason: row.reason, granted_by: row.grantedByEmail, created_at: row.createdAt.toISOString() };
}

/** A short line for the job/deploy audit rows: the step the team was at when the work went ahead. */
export function budgetDetail(note: BudgetNote | null): Record<string, unknown> {
  return note ? { budget_step: note.step, budget_spent_usd: note.spent_usd, budget_threshold_usd: note.threshold_usd } : {};
}
