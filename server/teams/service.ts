// Teams (tenants): list, read, create. The full admin console (members, quotas) builds on this.
import { refusePrivateUrl } from "../http/outbound";
import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import { memberships, teamQuotas, teams, users } from "@/db/schema";
import type { CreateTeamInput, QuotaDto, QuotaInput, TeamDto, TeamSummaryDto } from "@/lib/schemas/teams";
import { DEFAULT_BUDGET_THRESHOLDS } from "@/lib/schemas/teams";
import { appendAudit, denied } from "../audit/record";
import { can, readableTeamIds, roleIn } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { budgetsFor } from "../costs/budget-service";
import { findTeamBySlug } from "./lookup";
import { wake } from "../workers/registry";

/** Quota a new team starts with until an admin sets its own. */
export const DEFAULT_QUOTA = {
  cpu: 16, memoryGib: 64, gpus: 0, maxConcurrentJobs: 5, maxDeployments: 5, maxReplicas: 10, storageGib: 100, monthlyBudgetUsd: 1000,
} as const;

export async function listTeams(ctx: Ctx): Promise<TeamSummaryDto[]> {
  const ids = readableTeamIds(ctx.actor);
  if (ids && ids.length === 0) return [];
  const rows = await ctx.db
    .select({ id: teams.id, slug: teams.slug, name: teams.name, namespace: teams.namespace, createdAt: teams.createdAt })
    .from(teams)
    .where(and(isNull(teams.archivedAt), ids ? inArray(teams.id, ids) : undefined))
    .orderBy(asc(teams.slug));
  return rows.map((t) => ({
    slug: t.slug, name: t.name, namespace: t.namespace, role: roleIn(ctx.actor, t.id) ?? null, created_at: t.createdAt.toISOString(),
  }));
}

/**
 * The budget-step columns a quota body sets: a threshold or webhook left out keeps `current` (the defaults for a
 * team without a quota). The steps must stay in order (warn ≤ approval ≤ block) once merged.
 */
export function budgetColumns(
  q: Pick<QuotaInput, "budget_thresholds" | "budget_webhook_url">,
  current: Pick<typeof teamQuotas.$inferSelect, "budgetWarnPct" | "budgetApprovalPct" | "budgetBlockPct" | "budgetWebhookUrl"> | null,
): { budgetWarnPct: number | null; budgetApprovalPct: number | null; budgetBlockPct: number | null; budgetWebhookUrl: string | null } {
  if (q.budget_webhook_url) refusePrivateUrl(q.budget_webhook_url, "budget_webhook_url");
  const t = q.budget_thresholds ?? {};
  const pick = (v: number | null | undefined, now: number | null | undefined, dflt: number | null) => (v !== undefined ? v : now !== undefined ? now : dflt);
  const merged = {
    budgetWarnPct: pick(t.warn_pct, current?.budgetWarnPct, DEFAULT_BUDGET_THRESHOLDS.warn_pct),
    budgetApprovalPct: pick(t.approval_pct, current?.budgetApprovalPct, DEFAULT_BUDGET_THRESHOLDS.approval_pct),
    budgetBlockPct: pick(t.block_pct, current?.budgetBlockPct, DEFAULT_BUDGET_THRESHOLDS.block_pct),
    budgetWebhookUrl: q.budget_webhook_url !== undefined ? q.budget_webhook_url : (current?.budgetWebhookUrl ?? null),
  };
  const steps = ([["warn_pct", merged.budgetWarnPct], ["approval_pct", merged.budgetApprovalPct], ["block_pct", merged.budgetBlockPct]] as const).filter(([, v]) => v !== null);
  for (let i = 1; i < steps.length; i++) {
    const [k, v] = steps[i]!, [pk, pv] = steps[i - 1]!;
    if (v! < pv!) throw new AppError("invalid_input", `budget_thresholds.${k} (${v} %) is below ${pk} (${pv} %); the steps go warn, approval, block.`, { fields: { [`budget_thresholds.${k}`]: [`must be at least ${pk} (${pv} %)`] } });
  }
  return merged;
}

export function quotaDto(q: typeof teamQuotas.$inferSelect): QuotaDto {
  return {
    cpu: q.cpu, memory_gib: q.memoryGib, gpus: q.gpus, gpus_by_type: q.gpusByType ?? null, max_concurrent_jobs: q.maxConcurrentJobs,
    max_deployments: q.maxDeployments, max_replicas: q.maxReplicas, storage_gib: q.storageGib, monthly_budget_usd: q.monthlyBudgetUsd, limit_range: q.limitRange ?? null,
    budget_thresholds: { warn_pct: q.budgetWarnPct, approval_pct: q.budgetApprovalPct, block_pct: q.budgetBlockPct },
    budget_webhook_set: q.budgetWebhookUrl !== null,
  };
}

export async function getTeam(ctx: Ctx, slug: string): Promise<TeamDto> {
  const team = await findTeamBySlug(ctx.db, slug);
  if (!team || !can(ctx.actor, "read_data", team.id)) {
    throw await denied(ctx, { action: "team.read", target: `team:${slug}`, teamId: team?.id, team: slug, mode: "read", message: `Team "${slug}" was not found.` });
  }
  const [members, [quota], [budget]] = await Promise.all([
    ctx.db
      .select({ user_id: users.id, email: users.email, name: users.name, role: memberships.role })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.teamId, team.id))
      .orderBy(asc(users.email)),
    ctx.db.select().from(teamQuotas).where(eq(teamQuotas.teamId, team.id)),
    budgetsFor(ctx, [team.id]),
  ]);
  return {
    slug: team.slug, name: team.name, namespace: team.namespace, role: roleIn(ctx.actor, team.id) ?? null,
    created_at: team.createdAt.toISOString(), members, quota: quota ? quotaDto(quota) : null, budget: budget ?? null,
  };
}

export async function createTeam(ctx: Ctx, input: CreateTeamInput): Promise<TeamDto> {
  if (!can(ctx.actor, "manage_platform")) {
    throw await denied(ctx, {
      action: "team.create", target: `team:${input.slug}`, mode: "write", details: { slug: input.slug },
      message: "Only platform admins create teams.",
    });
  }
  await ctx.db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: teams.id }).from(teams).where(eq(teams.slug, input.slug));
    if (existing) throw new AppError("conflict", `A team with slug "${input.slug}" already exists.`, { fields: { slug: ["This slug is taken"] } });
    const [team] = await tx
      .insert(teams)
      .values({ slug: input.slug, name: input.name, namespace: `cairn-${input.slug}` })
      .returning({ id: teams.id });
    if (!team) throw new Error("team insert returned nothing");
    const q = input.quota;
    const quota = q
      ? {
          cpu: q.cpu, memoryGib: q.memory_gib, gpus: q.gpus, gpusByType: q.gpus_by_type && Object.keys(q.gpus_by_type).length ? q.gpus_by_type : null,
          maxConcurrentJobs: q.max_concurrent_jobs, maxDeployments: q.max_deployments, maxReplicas: q.max_replicas ?? DEFAULT_QUOTA.maxReplicas,
          storageGib: q.storage_gib ?? null, monthlyBudgetUsd: q.monthly_budget_usd, ...budgetColumns(q, null),
        }
      : DEFAULT_QUOTA;
    await tx.insert(teamQuotas).values({ teamId: team.id, ...quota });
    await appendAudit(tx, ctx, { action: "team.create", target: `team:${input.slug}`, teamId: team.id, team: input.slug, details: { name: input.name, quota: q ? "set" : "default" } });
  });
  // On Kubernetes the team's namespace is made now rather than on the next pass.
  wake("tenants");
  return getTeam(ctx, input.slug);
}
