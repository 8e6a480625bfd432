// Cost queries (GET /api/v1/costs, the costs page).
import { z } from "zod";

export const costsQuery = z.object({
  window: z.string().max(10).optional(),
  step: z.string().max(10).optional(),
  aggregate: z.enum(["team", "user", "resource", "kind", "run", "deployment"], { error: "aggregate is one of team, user, resource, kind, run, deployment" }).optional(),
  team: z.string().max(64).optional(),
});
export type CostsQuery = z.infer<typeof costsQuery>;

export type BudgetStep = "ok" | "warn" | "approval" | "block";

/** POST /api/v1/teams/{slug}/budget-extensions: a lead raises this month's approval line. */
export const budgetExtensionSchema = z.strictObject({
  amount_usd: z.number({ error: "amount_usd must be a number of US dollars" }).positive("amount_usd must be more than 0").max(1_000_000_000, "amount_usd can be at most 1000000000"),
  reason: z.string({ error: "give a reason" }).trim().min(3, "Say why the team needs more this month (at least 3 characters)").max(500, "Keep the reason under 500 characters"),
});
export type BudgetExtensionInput = z.infer<typeof budgetExtensionSchema>;
export type BudgetExtensionDto = { id: string; team: string; month: string; amount_usd: number; reason: string; granted_by: string; created_at: string };

/**
 * A team's budget this calendar month (UTC): spend, the month-end forecast, where each step's line lies (USD; null:
 * the step is off or the team has no budget), which step it is at, and what that means for the viewer.
 */
export type BudgetStateDto = {
  team: string;
  monthly_budget_usd: number | null;
  spent_this_month_usd: number;
  share: number | null;
  /** Spent so far + max(hourly cost of what runs now, the month's average hourly spend) × hours left in the month. */
  forecast_month_end_usd: number;
  forecast: { running_hourly_usd: number; average_hourly_usd: number; hours_left: number };
  thresholds: { warn_pct: number | null; approval_pct: number | null; block_pct: number | null };
  lines: { warn_usd: number | null; approval_usd: number | null; block_usd: number | null };
  extensions_usd: number;
  extensions: BudgetExtensionDto[];
  step: BudgetStep;
  /** The team's leads: who can grant an extension at the approval step. */
  approvers: string[];
  /** What the step means, in words (null at "ok"). */
  message: string | null;
  /** Whether new jobs and deploys by the viewer would be refused now, and why. */
  viewer: { refused: boolean; can_extend: boolean };
};

/** The `budget` note a job submit or deploy answer carries when the team is past a step (null otherwise). */
export type BudgetNote = { step: Exclude<BudgetStep, "ok">; message: string; spent_usd: number; threshold_usd: number };
