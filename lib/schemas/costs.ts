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

/** An admin's price for one resource kind (POST on the admin page; GPU prices may be per GPU type). */
export const resourcePriceSchema = z.strictObject({
  kind: z.enum(["cpu", "memory", "gpu", "storage"], { error: "kind is one of cpu, memory, gpu, storage" }),
  gpu_type: z.string().trim().max(64, "Keep the GPU type under 64 characters").regex(/^[a-z0-9][a-z0-9.-]*$|^$/, "A GPU type is lower-case letters, digits, dots and dashes, like nvidia-a100").optional(),
  unit_price_usd: z.number({ error: "unit_price_usd must be a number of US dollars" }).min(0, "A price cannot be negative").max(100_000, "unit_price_usd can be at most 100000"),
});
export type ResourcePriceInput = z.infer<typeof resourcePriceSchema>;
export type ResourcePriceDto = { kind: "cpu" | "memory" | "gpu" | "storage"; gpu_type: string | null; unit: string; unit_price_usd: number; updated_at: string };

export const ALLOCATION_GROUPINGS = ["team", "user", "experiment", "job", "run", "model", "model_version", "environment"] as const;
export type AllocationGrouping = (typeof ALLOCATION_GROUPINGS)[number];

/** GET /api/v1/costs/allocation: `from`/`to` are ISO dates or date-times (default: the last 30 days up to now). */
export const allocationQuery = z.object({
  by: z.enum(ALLOCATION_GROUPINGS, { error: `by is one of ${ALLOCATION_GROUPINGS.join(", ")}` }).optional(),
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
  team: z.string().max(64).optional(),
  format: z.enum(["json", "csv"], { error: "format is json or csv" }).optional(),
});
export type AllocationQuery = z.infer<typeof allocationQuery>;

/** Whether used CPU and memory were measured for the cost a row holds (GPU use is never measured). */
export type UsageMeasured = "measured" | "partly measured" | "not measured";

/**
 * One group's cost over the window, split by resource kind, with what it requested and (where measured) used.
 * `name` is what people call it (a job's, run's, experiment's name; a model version "churn-model v3"), never an
 * id; a deleted object keeps its last known name. Cost that is not of the grouping's kind (serving or storage
 * when grouped by job) lands in a row named for what it is, so the rows always add up to the total.
 */
export type AllocationRow = {
  key: string;
  name: string;
  teams: string[];
  total_usd: number;
  cpu_usd: number;
  memory_usd: number;
  gpu_usd: number;
  gpu_by_type: { gpu_type: string; usd: number; gpu_hours: number }[];
  storage_usd: number;
  /** Cost metered before the split by kind existed. */
  unsplit_usd: number;
  /** Of the total: jobs (training) and deployments (serving). */
  training_usd: number;
  serving_usd: number;
  cpu_core_hours: number;
  memory_gib_hours: number;
  gpu_hours: number;
  storage_gib_hours: number;
  used_cpu_core_hours: number | null;
  used_memory_gib_hours: number | null;
  /** GPUs requested × their mean DCGM utilization × hours (Kubernetes with PROMETHEUS_URL); null: GPUs counted as requested. */
  used_gpu_hours: number | null;
  /** Used ÷ requested over the measured part (null: not measured). */
  cpu_efficiency: number | null;
  memory_efficiency: number | null;
  gpu_efficiency: number | null;
  /** CPU, memory and GPU efficiency weighted by their cost. */
  efficiency: number | null;
  /** What the measured part requested but did not use, in USD. */
  idle_usd: number | null;
  usage: UsageMeasured;
  usage_note: string | null;
  /** Predictions served (gateway rollups) in the window; null for groupings predictions do not belong to. */
  predictions: number | null;
  /** Serving cost ÷ predictions × 1,000 (null with no predictions). */
  cost_per_1000_predictions_usd: number | null;
};

export type AllocationDto = { by: AllocationGrouping; from: string; to: string; currency: "USD"; rows: AllocationRow[]; total: AllocationRow };
