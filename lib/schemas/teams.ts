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
  max_concurrent_jobs: number;
  max_deployments: number;
  storage_gib: number | null;
  monthly_budget_usd: number;
};
export type TeamSummaryDto = { slug: string; name: string; namespace: string; role: string | null; created_at: string };
export type TeamMemberDto = { user_id: string; email: string; name: string; role: string };
export type TeamDto = TeamSummaryDto & { members: TeamMemberDto[]; quota: QuotaDto | null };
