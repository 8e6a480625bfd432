import { z } from "zod";

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
});
export type CreateTeamInput = z.infer<typeof createTeamSchema>;

export type QuotaDto = {
  cpu: number;
  memory_gib: number;
  gpus: number;
  gpus_by_type: Record<string, number> | null;
  max_concurrent_jobs: number;
  max_deployments: number;
  storage_gib: number | null;
  monthly_budget_usd: number;
};
export type TeamSummaryDto = { slug: string; name: string; namespace: string; role: string | null; created_at: string };
export type TeamMemberDto = { user_id: string; email: string; name: string; role: string };
export type TeamDto = TeamSummaryDto & { members: TeamMemberDto[]; quota: QuotaDto | null };

export const roleSchema = z.enum(ROLE_NAMES, { error: `role must be one of ${ROLE_NAMES.join(", ")}` });
export const addMemberSchema = z.strictObject({
  email: z.string().trim().toLowerCase().email("Give the member's email address").max(320),
  role: roleSchema,
  name: z.string().trim().min(1).max(100).optional(),
});
export const changeRoleSchema = z.strictObject({ role: roleSchema });

const nonNegative = (what: string) => z.number({ error: `${what} must be a number` }).min(0, `${what} cannot be negative`);
export const quotaSchema = z.strictObject({
  cpu: nonNegative("cpu").max(100_000),
  memory_gib: nonNegative("memory_gib").max(10_000_000),
  gpus: nonNegative("gpus").int("gpus must be a whole number").max(100_000),
  gpus_by_type: z.record(z.string().min(1).max(64), nonNegative("a GPU type's count").int()).optional().nullable(),
  max_concurrent_jobs: nonNegative("max_concurrent_jobs").int().max(100_000),
  max_deployments: nonNegative("max_deployments").int().max(100_000),
  storage_gib: nonNegative("storage_gib").max(10_000_000).optional().nullable(),
  monthly_budget_usd: nonNegative("monthly_budget_usd").max(1_000_000_000),
}).superRefine((q, c) => {
  const split = Object.values(q.gpus_by_type ?? {}).reduce((a, b) => a + b, 0);
  if (split > q.gpus) c.addIssue({ code: "custom", path: ["gpus_by_type"], message: `the split by type adds up to ${split} GPUs, more than the total gpus (${q.gpus}); gpus is the total over all types` });
});
export type QuotaInput = z.infer<typeof quotaSchema>;

/** PATCH /api/v1/teams/{slug}: rename, archive or restore (admins). */
export const updateTeamSchema = z.strictObject({
  name: z.string().trim().min(1, "Give the team a name").max(100, "Keep the name under 100 characters").optional(),
  archived: z.boolean().optional(),
});
