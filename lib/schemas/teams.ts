import { z } from "zod";
import type { BudgetStateDto } from "./costs";

export const ROLE_NAMES = ["data_scientist", "ml_engineer", "team_lead"] as const;

export const teamSlugSchema = z
  .string()
  .trim()
  .min(2, "A slug has at least 2 characters")
  .max(40, "A slug has at most 40 characters")
  .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, "Use lowercase letters, digits and dashes, starting with a letter (it names the team's Kubernetes namespace)");

export const createTeamSchema = z.strictObject({
  slug: teamSlugSchema,
  name: z.string().trim().min(1, "Give the team a name").max(100, "Keep the name under 100 characters"),
  /** The team's quota from the start (left out: the platform's defaults). */
  get quota() { return quotaSchema.optional(); },
});
export type CreateTeamInput = z.infer<typeof createTeamSchema>;

export type ContainerResources = { cpu?: number; memory_gib?: number };
/** Per-container bounds and default request (a Kubernetes LimitRange of type Container). */
export type LimitRangeSpec = { min?: ContainerResources; max?: ContainerResources; default_request?: ContainerResources };

export type QuotaDto = {
  cpu: number;
  memory_gib: number;
  gpus: number;
  gpus_by_type: Record<string, number> | null;
  max_concurrent_jobs: number;
  max_deployments: number;
  /** Model replicas the team's live deployments may run together (deploys, scaling and autoscaling stay under it). */
  max_replicas: number;
  storage_gib: number | null;
  monthly_budget_usd: number;
  limit_range: LimitRangeSpec | null;
  /** Budget steps as percentages of the monthly budget (null: that step is off). */
  budget_thresholds?: BudgetThresholds;
  /** Whether a budget webhook is set (its URL is a secret and is never shown). */
  budget_webhook_set?: boolean;
};
export type BudgetThresholds = { warn_pct: number | null; approval_pct: number | null; block_pct: number | null };
export const DEFAULT_BUDGET_THRESHOLDS: BudgetThresholds = { warn_pct: 80, approval_pct: 100, block_pct: 120 };
export type TeamSummaryDto = { slug: string; name: string; namespace: string; role: string | null; created_at: string };
export type TeamMemberDto = { user_id: string; email: string; name: string; role: string };
/** `budget`: the team's month against its budget steps (lib/schemas/costs.ts). */
export type TeamDto = TeamSummaryDto & { members: TeamMemberDto[]; quota: QuotaDto | null; budget?: BudgetStateDto | null };
/** A row of the team lists: quota, what is in use now (the quota's field names), and month-to-date spend. */
export type TeamListItemDto = TeamSummaryDto & {
  quota: QuotaDto | null;
  used: { cpu: number; memory_gib: number; gpus: number; max_concurrent_jobs: number; max_deployments: number; max_replicas: number };
  spent_this_month_usd: number;
  /** Spend / monthly budget (0.42 = 42 %); null without a budget. */
  budget_share: number | null;
};

export const roleSchema = z.enum(ROLE_NAMES, { error: `role must be one of ${ROLE_NAMES.join(", ")}` });
export const addMemberSchema = z.strictObject({
  email: z.string().trim().toLowerCase().email("Give the member's email address").max(320),
  role: roleSchema,
});
export const changeRoleSchema = z.strictObject({ role: roleSchema });

const nonNegative = (what: string) => z.number({ error: `${what} must be a number` }).min(0, `${what} cannot be negative`);
const containerResources = z.strictObject({
  cpu: z.number({ error: "cpu must be a number of cores" }).positive("cpu must be more than 0").max(10_000).optional(),
  memory_gib: z.number({ error: "memory_gib must be a number" }).positive("memory_gib must be more than 0").max(100_000).optional(),
});
export const limitRangeSchema = z.strictObject({
  min: containerResources.optional(),
  max: containerResources.optional(),
  default_request: containerResources.optional(),
}).superRefine((l, c) => {
  // A job that names no resources gets the default request, so it must say both.
  if (l.default_request && (l.default_request.cpu === undefined) !== (l.default_request.memory_gib === undefined)) {
    c.addIssue({ code: "custom", path: ["default_request"], message: "give the default request's cpu and memory_gib together (a job that names no resources gets both)" });
  }
  for (const key of ["cpu", "memory_gib"] as const) {
    const min = l.min?.[key], max = l.max?.[key], req = l.default_request?.[key];
    if (min !== undefined && max !== undefined && min > max) c.addIssue({ code: "custom", path: ["min", key], message: `min ${key} (${min}) is more than max ${key} (${max})` });
    if (req !== undefined && min !== undefined && req < min) c.addIssue({ code: "custom", path: ["default_request", key], message: `default_request ${key} (${req}) is below min ${key} (${min})` });
    if (req !== undefined && max !== undefined && req > max) c.addIssue({ code: "custom", path: ["default_request", key], message: `default_request ${key} (${req}) is above max ${key} (${max})` });
  }
});
const thresholdPct = (step: string) => z
  .number({ error: `${step}_pct must be a whole percentage of the monthly budget, or null to turn the step off` })
  .int(`${step}_pct must be a whole percentage`)
  .min(1, `${step}_pct must be at least 1`)
  .max(1000, `${step}_pct can be at most 1000`)
  .nullable()
  .optional();
/** Budget steps; a step left out keeps its current value (the default for a team without one). */
export const budgetThresholdsSchema = z.strictObject({
  warn_pct: thresholdPct("warn"),
  approval_pct: thresholdPct("approval"),
  block_pct: thresholdPct("block"),
});
export const budgetWebhookUrlSchema = z
  .string()
  .trim()
  .max(2000, "the webhook URL can be at most 2000 characters")
  .url("budget_webhook_url must be an http(s) URL (or null to remove it)")
  .refine((u) => /^https?:\/\//i.test(u), "budget_webhook_url must be an http(s) URL (or null to remove it)");

export const quotaSchema = z.strictObject({
  cpu: nonNegative("cpu").max(100_000),
  memory_gib: nonNegative("memory_gib").max(10_000_000),
  gpus: nonNegative("gpus").int("gpus must be a whole number").max(100_000),
  gpus_by_type: z.record(z.string().min(1).max(64), nonNegative("a GPU type's count").int()).optional().nullable(),
  max_concurrent_jobs: nonNegative("max_concurrent_jobs").int().max(100_000),
  max_deployments: nonNegative("max_deployments").int().max(100_000),
  // Optional so clients written before it existed keep working: left out, a PUT keeps the team's current value
  // (10 for a team that had no quota yet).
  max_replicas: z
    .number({ error: "max_replicas must be a whole number of model replicas (leave it out to keep the team's current value)" })
    .int("max_replicas must be a whole number of model replicas")
    .min(0, "max_replicas cannot be negative")
    .max(100_000, "max_replicas can be at most 100000")
    .optional(),
  storage_gib: nonNegative("storage_gib").max(10_000_000).optional().nullable(),
  monthly_budget_usd: nonNegative("monthly_budget_usd").max(1_000_000_000),
  limit_range: limitRangeSchema.optional().nullable(),
  // Both optional so quota bodies written before budget steps existed stay valid (left out: kept as they are).
  budget_thresholds: budgetThresholdsSchema.optional(),
  budget_webhook_url: budgetWebhookUrlSchema.nullable().optional(),
}).superRefine((q, c) => {
  const t = q.budget_thresholds ?? {};
  const order = (["warn_pct", "approval_pct", "block_pct"] as const).flatMap((k) => (typeof t[k] === "number" ? [[k, t[k]] as const] : []));
  for (let i = 1; i < order.length; i++) {
    if (order[i]![1] < order[i - 1]![1]) c.addIssue({ code: "custom", path: ["budget_thresholds", order[i]![0]], message: `${order[i]![0]} (${order[i]![1]} %) is below ${order[i - 1]![0]} (${order[i - 1]![1]} %); the steps go warn, approval, block` });
  }
  const split = Object.values(q.gpus_by_type ?? {}).reduce((a, b) => a + b, 0);
  if (split > q.gpus) c.addIssue({ code: "custom", path: ["gpus_by_type"], message: `the split by type adds up to ${split} GPUs, more than the total gpus (${q.gpus}); gpus is the total over all types` });
});
export type QuotaInput = z.infer<typeof quotaSchema>;

/** PATCH /api/v1/teams/{slug}: rename, archive or restore (admins). */
export const updateTeamSchema = z.strictObject({
  name: z.string().trim().min(1, "Give the team a name").max(100, "Keep the name under 100 characters").optional(),
  archived: z.boolean().optional(),
});

/** Amounts as the ResourceQuota's status counts them, in the quota's units. */
export type K8sAmounts = { cpu: number; memory_gib: number; gpus: number; pods: number };
/** The tenant sync's last word on a team's namespace (kubernetes backend). */
export type KubernetesTenantStatus = {
  namespace: string;
  state: "in_sync" | "drift_repaired" | "error";
  message: string | null;
  repaired: string[];
  checked_at: string;
  synced_at: string | null;
  drift_repaired_at: string | null;
  kueue: boolean;
  /** From the ResourceQuota's status (what the API server counts). */
  hard: K8sAmounts | null;
  used: K8sAmounts | null;
};
