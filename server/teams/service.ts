// Teams (tenants): list, read, create. The full admin console (members, quotas) builds on this.
import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import { memberships, teamQuotas, teams, users } from "@/db/schema";
import type { CreateTeamInput, QuotaDto, TeamDto, TeamSummaryDto } from "@/lib/schemas/teams";
import { appendAudit, denied } from "../audit/record";
import { can, readableTeamIds, roleIn } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
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

export function quotaDto(q: typeof teamQuotas.$inferSelect): QuotaDto {
  return {
    cpu: q.cpu, memory_gib: q.memoryGib, gpus: q.gpus, gpus_by_type: q.gpusByType ?? null, max_concurrent_jobs: q.maxConcurrentJobs,
    max_deployments: q.maxDeployments, max_replicas: q.maxReplicas, storage_gib: q.storageGib, monthly_budget_usd: q.monthlyBudgetUsd, limit_range: q.limitRange ?? null,
  };
}

export async function getTeam(ctx: Ctx, slug: string): Promise<TeamDto> {
  const team = await findTeamBySlug(ctx.db, slug);
  if (!team || !can(ctx.actor, "read_data", team.id)) {
    throw await denied(ctx, { action: "team.read", target: `team:${slug}`, teamId: team?.id, team: slug, mode: "read", message: `Team "${slug}" was not found.` });
  }
  const [members, [quota]] = await Promise.all([
    ctx.db
      .select({ user_id: users.id, email: users.email, name: users.name, role: memberships.role })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.teamId, team.id))
      .orderBy(asc(users.email)),
    ctx.db.select().from(teamQuotas).where(eq(teamQuotas.teamId, team.id)),
  ]);
  return {
    slug: team.slug, name: team.name, namespace: team.namespace, role: roleIn(ctx.actor, team.id) ?? null,
    created_at: team.createdAt.toISOString(), members, quota: quota ? quotaDto(quota) : null,
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
          storageGib: q.storage_gib ?? null, monthlyBudgetUsd: q.monthly_budget_usd,
        }
      : DEFAULT_QUOTA;
    await tx.insert(teamQuotas).values({ teamId: team.id, ...quota });
    await appendAudit(tx, ctx, { action: "team.create", target: `team:${input.slug}`, teamId: team.id, team: input.slug, details: { name: input.name, quota: q ? "set" : "default" } });
  });
  // On Kubernetes the team's namespace is made now rather than on the next pass.
  wake("tenants");
  return getTeam(ctx, input.slug);
}
