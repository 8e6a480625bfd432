// Managing a tenant: members and roles (team leads of the team, and admins), the quota (admins only),
// and usage against the quota (every member). Removal takes effect on the member's next request: actors
// and token grants are read from the database every time. Lowering a quota below current use stops no
// running work; admission simply waits until usage falls (Kubernetes' ResourceQuota semantics).
import { and, asc, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { LIVE_DEPLOYMENT_STATUSES, apiTokens, deployments, jobs, memberships, teamQuotas, teams, tenantSync, users } from "@/db/schema";
import type { Role } from "@/db/schema";
import type { KubernetesTenantStatus, LimitRangeSpec, QuotaDto, QuotaInput, TeamMemberDto } from "@/lib/schemas/teams";
import { appendAudit, denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { env } from "../env";
import { localSandboxStatus } from "../compute/local";
import type { SandboxStatus } from "../compute/sandbox";
import { quotaAmounts } from "../tenants/quantity";
import { artifactStore } from "../tracking/artifacts";
import { gib, teamStoredBytes } from "../artifacts/usage";
import { findTeamBySlug } from "./lookup";
import type { TeamRef } from "./lookup";
import { DEFAULT_QUOTA, budgetColumns, quotaDto } from "./service";
import { wake } from "../workers/registry";
import { authChanged } from "../auth/token-cache";
import { log } from "../observability/log";

/** The team the actor may read and act on with `permission`; refusals are audited (404 outside, 403 inside). */
export async function teamFor(ctx: Ctx, slug: string, permission: "read_data" | "manage_team" | "manage_platform", action: string): Promise<TeamRef> {
  const team = await findTeamBySlug(ctx.db, slug);
  if (!team || !can(ctx.actor, "read_data", team.id)) {
    throw await denied(ctx, { action: "team.read", target: `team:${slug}`, teamId: team?.id, team: slug, mode: "read", message: `Team "${slug}" was not found.` });
  }
  const allowed = permission === "manage_platform" ? can(ctx.actor, "manage_platform") : can(ctx.actor, permission, team.id);
  if (!allowed) {
    throw await denied(ctx, {
      action, target: `team:${slug}`, teamId: team.id, team: slug, mode: "write",
      message: permission === "manage_platform" ? "Only platform admins change quotas." : `Only team leads of ${slug} and admins manage its members.`,
    });
  }
  return team;
}

async function memberOf(ctx: Ctx, teamId: string, userId: string): Promise<TeamMemberDto | undefined> {
  const [row] = /^[0-9a-f-]{36}$/i.test(userId)
    ? await ctx.db
        .select({ user_id: users.id, email: users.email, name: users.name, role: memberships.role })
        .from(memberships)
        .innerJoin(users, eq(users.id, memberships.userId))
        .where(and(eq(memberships.teamId, teamId), eq(memberships.userId, userId)))
    : [];
  return row;
}

/**
 * Adds an existing account to the team by email. Nobody creates accounts here: an email without one is
 * invited instead (server/teams/invitations.ts, addOrInviteMember), and the invitee sets their own password.
 */
export async function addMember(ctx: Ctx, slug: string, input: { email: string; role: Role }): Promise<TeamMemberDto> {
  const team = await teamFor(ctx, slug, "manage_team", "member.add");
  const userId = await ctx.db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, input.email));
    if (!existing) {
      throw new AppError("invalid_input", `No Cairn account uses ${input.email}; invite them instead.`, { fields: { email: ["No account uses this email; invite them instead"] } });
    }
    const [already] = await tx.select({ role: memberships.role }).from(memberships).where(and(eq(memberships.teamId, team.id), eq(memberships.userId, existing.id)));
    if (already) throw new AppError("conflict", `${input.email} is already a member of ${slug} (${already.role}); change their role instead.`, { fields: { email: ["Already a member"] } });
    await tx.insert(memberships).values({ teamId: team.id, userId: existing.id, role: input.role });
    await appendAudit(tx, ctx, { action: "member.add", target: `user:${input.email}`, teamId: team.id, team: slug, details: { role: input.role } });
    return existing.id;
  });
  return (await memberOf(ctx, team.id, userId))!;
}

async function leadsLeft(ctx: Ctx, teamId: string, without: string): Promise<number> {
  const [row] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .where(and(eq(memberships.teamId, teamId), eq(memberships.role, "team_lead"), sql`${memberships.userId} <> ${without}`));
  return row?.n ?? 0;
}

export async function changeRole(ctx: Ctx, slug: string, userId: string, role: Role): Promise<TeamMemberDto> {
  const team = await teamFor(ctx, slug, "manage_team", "member.role");
  const member = await memberOf(ctx, team.id, userId);
  if (!member) throw new AppError("not_found", `User ${userId} is not a member of ${slug}.`);
  if (member.role === "team_lead" && role !== "team_lead" && !ctx.actor.isAdmin && (await leadsLeft(ctx, team.id, userId)) === 0) {
    throw new AppError("conflict", `${member.email} is the last team lead of ${slug}; make someone else team lead first.`);
  }
  if (member.role !== role) {
    await ctx.db.transaction(async (tx) => {
      await tx.update(memberships).set({ role }).where(and(eq(memberships.teamId, team.id), eq(memberships.userId, userId)));
      await appendAudit(tx, ctx, { action: "member.role", target: `user:${member.email}`, teamId: team.id, team: slug, details: { from: member.role, to: role } });
    });
    authChanged();
  }
  return { ...member, role };
}

export async function removeMember(ctx: Ctx, slug: string, userId: string): Promise<void> {
  const team = await teamFor(ctx, slug, "manage_team", "member.remove");
  const member = await memberOf(ctx, team.id, userId);
  if (!member) throw new AppError("not_found", `User ${userId} is not a member of ${slug}.`);
  if (member.role === "team_lead" && !ctx.actor.isAdmin && (await leadsLeft(ctx, team.id, userId)) === 0) {
    throw new AppError("conflict", `${member.email} is the last team lead of ${slug}; make someone else team lead first.`);
  }
  await ctx.db.transaction(async (tx) => {
    await tx.delete(memberships).where(and(eq(memberships.teamId, team.id), eq(memberships.userId, userId)));
    // Their tokens for this team are revoked for good, so adding them back later does not revive them.
    const revoked = await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.userId, userId), eq(apiTokens.teamId, team.id), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    await appendAudit(tx, ctx, { action: "member.remove", target: `user:${member.email}`, teamId: team.id, team: slug, details: { role: member.role, revoked_tokens: revoked.length } });
    for (const token of revoked) {
      await appendAudit(tx, ctx, { action: "token.revoke", target: `token:${token.id}`, teamId: team.id, team: slug, details: { reason: "member_removed", user: member.email } });
    }
  });
  authChanged();
}

/** A limit range without any bound is no limit range. */
function emptyToNull(l: LimitRangeSpec | null | undefined): LimitRangeSpec | null {
  if (!l) return null;
  const parts = Object.fromEntries(Object.entries(l).filter(([, v]) => v && Object.keys(v).length > 0));
  return Object.keys(parts).length ? (parts as LimitRangeSpec) : null;
}

export async function setQuota(ctx: Ctx, slug: string, input: QuotaInput): Promise<QuotaDto> {
  const team = await teamFor(ctx, slug, "manage_platform", "quota.update");
  const values = {
    cpu: input.cpu, memoryGib: input.memory_gib, gpus: input.gpus, gpusByType: input.gpus_by_type && Object.keys(input.gpus_by_type).length ? input.gpus_by_type : null,
    maxConcurrentJobs: input.max_concurrent_jobs, maxDeployments: input.max_deployments, storageGib: input.storage_gib ?? null,
    monthlyBudgetUsd: input.monthly_budget_usd, limitRange: emptyToNull(input.limit_range), updatedAt: new Date(),
    // Left out (a client from before max_replicas): the team keeps its value, a team without a quota gets the default.
    ...(input.max_replicas === undefined ? {} : { maxReplicas: input.max_replicas }),
  };
  const row = await ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(teamQuotas).where(eq(teamQuotas.teamId, team.id)).for("update");
    const set = { ...values, ...budgetColumns(input, before ?? null) };
    const [saved] = await tx.insert(teamQuotas).values({ teamId: team.id, maxReplicas: DEFAULT_QUOTA.maxReplicas, ...set }).onConflictDoUpdate({ target: teamQuotas.teamId, set }).returning();
    // The webhook URL is a secret: the audit row says whether it changed, never what it is.
    await appendAudit(tx, ctx, {
      action: "quota.update", target: `team:${slug}`, teamId: team.id, team: slug,
      details: { before: before ? quotaDto(before) : null, after: quotaDto(saved!), budget_webhook_changed: (before?.budgetWebhookUrl ?? null) !== saved!.budgetWebhookUrl },
    });
    return saved!;
  });
  // Raising a quota may let queued work start now; on Kubernetes the namespace's objects follow.
  wake("jobs");
  wake("tenants");
  return quotaDto(row);
}

export type TeamUsage = {
  team: string;
  quota: QuotaDto | null;
  used: { cpu: number; memory_gib: number; gpus: number; gpus_by_type: Record<string, number>; max_concurrent_jobs: number; max_deployments: number; max_replicas: number; storage_gib: number | null };
  top: { kind: "job"; id: string; name: string; user: string; status: string; cpu: number; memory_gib: number; gpus: number }[];
  queued_jobs: { job_id: string; name: string; user: string; queued_at: string; queue_reason: string | null; cpu: number; memory_gib: number; gpus: number }[];
  /** Where quotas are enforced: Cairn's own admission (local) or also the namespace's ResourceQuota (kubernetes). */
  backend: "local" | "kubernetes";
  /** The tenant sync's last word and the ResourceQuota's status, once a sync has run (kubernetes backend). */
  kubernetes: KubernetesTenantStatus | null;
};

async function kubernetesStatus(ctx: Ctx, team: TeamRef): Promise<KubernetesTenantStatus | null> {
  const [row] = await ctx.db.select().from(tenantSync).where(eq(tenantSync.teamId, team.id));
  if (!row) return null;
  return {
    namespace: team.namespace, state: row.state, message: row.message, repaired: row.repaired, checked_at: row.checkedAt.toISOString(),
    synced_at: row.syncedAt?.toISOString() ?? null, drift_repaired_at: row.driftRepairedAt?.toISOString() ?? null, kueue: row.kueue,
    hard: quotaAmounts(row.quotaStatus?.hard), used: quotaAmounts(row.quotaStatus?.used),
  };
}

/** Used vs. limit from Cairn's own accounting (admitted and running jobs), who uses what, and the queue. */
export async function teamUsage(ctx: Ctx, slug: string): Promise<TeamUsage> {
  const team = await teamFor(ctx, slug, "read_data", "team.read");
  const active = inArray(jobs.status, ["admitted", "running"]);
  const [[quota], running, queued, kubernetes, storedBytes, [liveDeployments]] = await Promise.all([
    ctx.db.select().from(teamQuotas).where(eq(teamQuotas.teamId, team.id)),
    ctx.db.select().from(jobs).where(and(eq(jobs.teamId, team.id), active)).orderBy(desc(jobs.gpus), desc(jobs.cpu)),
    ctx.db.select().from(jobs).where(and(eq(jobs.teamId, team.id), eq(jobs.status, "queued"))).orderBy(desc(jobs.priority), asc(jobs.queuedAt)).limit(200),
    kubernetesStatus(ctx, team),
    // Artifacts (measured by walking them, cached a minute) and code archives: what the storage quota counts.
    // A failure there costs the figure, not the page.
    teamStoredBytes(ctx.db, artifactStore(), team).catch((err: unknown) => {
      log.error(`measuring artifact storage of team ${team.slug} failed`, { err });
      return null;
    }),
    // Live deployments and their replicas, every backend: what max_deployments and max_replicas count.
    ctx.db
      .select({ n: sql<number>`count(*)::int`, replicas: sql<number>`coalesce(sum(${deployments.replicas}), 0)::int` })
      .from(deployments)
      .where(and(eq(deployments.teamId, team.id), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]))),
  ]);
  const byType: Record<string, number> = {};
  for (const j of running) if (j.gpuType && j.gpus) byType[j.gpuType] = (byType[j.gpuType] ?? 0) + j.gpus;
  const sum = (f: (j: (typeof running)[number]) => number) => Math.round(running.reduce((a, j) => a + f(j), 0) * 1000) / 1000;
  return {
    team: slug,
    quota: quota ? quotaDto(quota) : null,
    used: { cpu: sum((j) => j.cpu), memory_gib: sum((j) => j.memoryGib), gpus: sum((j) => j.gpus), gpus_by_type: byType, max_concurrent_jobs: running.length, max_deployments: Number(liveDeployments?.n ?? 0), max_replicas: Number(liveDeployments?.replicas ?? 0), storage_gib: storedBytes === null ? null : gib(storedBytes) },
    top: running.slice(0, 10).map((j) => ({ kind: "job", id: j.id, name: j.name, user: j.userEmail, status: j.status, cpu: j.cpu, memory_gib: j.memoryGib, gpus: j.gpus })),
    queued_jobs: queued.map((j) => ({ job_id: j.id, name: j.name, user: j.userEmail, queued_at: j.queuedAt.toISOString(), queue_reason: j.queueReason, cpu: j.cpu, memory_gib: j.memoryGib, gpus: j.gpus })),
    backend: env().computeBackend,
    kubernetes,
  };
}

/** Renames a team (its slug and namespace stay: they are names other systems hold). Admins only. */
export async function renameTeam(ctx: Ctx, slug: string, name: string): Promise<void> {
  const team = await teamFor(ctx, slug, "manage_platform", "team.rename");
  await ctx.db.transaction(async (tx) => {
    await tx.update(teams).set({ name }).where(eq(teams.id, team.id));
    await appendAudit(tx, ctx, { action: "team.rename", target: `team:${slug}`, teamId: team.id, team: slug, details: { from: team.name, to: name } });
  });
}

/**
 * Archives a team: it disappears from lists, its members and tokens lose access on their next request,
 * and nothing new runs in it. Refused while it has work queued or running (cancel that first).
 */
export async function archiveTeam(ctx: Ctx, slug: string): Promise<void> {
  const team = await teamFor(ctx, slug, "manage_platform", "team.archive");
  const [active] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(jobs).where(and(eq(jobs.teamId, team.id), inArray(jobs.status, ["queued", "admitted", "running"])));
  if ((active?.n ?? 0) > 0) throw new AppError("conflict", `Team ${slug} has ${active!.n} job(s) queued or running; cancel them before archiving the team.`);
  const [serving] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(deployments).where(and(eq(deployments.teamId, team.id), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])));
  if ((serving?.n ?? 0) > 0) throw new AppError("conflict", `Team ${slug} has ${serving!.n} live deployment(s); stop them (Deployments page or DELETE /api/v1/deployments/{id}) before archiving the team.`);
  await ctx.db.transaction(async (tx) => {
    await tx.update(teams).set({ archivedAt: new Date() }).where(eq(teams.id, team.id));
    await appendAudit(tx, ctx, { action: "team.archive", target: `team:${slug}`, teamId: team.id, team: slug });
  });
  authChanged();
}

/** Restores an archived team (admins only). */
export async function restoreTeam(ctx: Ctx, slug: string): Promise<void> {
  if (!can(ctx.actor, "manage_platform")) {
    throw await denied(ctx, { action: "team.restore", target: `team:${slug}`, mode: "write", message: "Only platform admins restore teams." });
  }
  const [team] = await ctx.db.select({ id: teams.id, archivedAt: teams.archivedAt }).from(teams).where(eq(teams.slug, slug));
  if (!team) throw new AppError("not_found", `Team "${slug}" was not found.`);
  if (!team.archivedAt) throw new AppError("conflict", `Team ${slug} is not archived.`);
  await ctx.db.transaction(async (tx) => {
    await tx.update(teams).set({ archivedAt: null }).where(eq(teams.id, team.id));
    await appendAudit(tx, ctx, { action: "team.restore", target: `team:${slug}`, teamId: team.id, team: slug });
  });
  authChanged();
  wake("tenants");
}

/** Archived teams, for the admin console. */
export async function listArchivedTeams(ctx: Ctx): Promise<{ slug: string; name: string; archived_at: string }[]> {
  if (!can(ctx.actor, "manage_platform")) return [];
  const rows = await ctx.db.select({ slug: teams.slug, name: teams.name, archivedAt: teams.archivedAt }).from(teams).where(sql`${teams.archivedAt} is not null`).orderBy(asc(teams.slug));
  return rows.map((r) => ({ slug: r.slug, name: r.name, archived_at: r.archivedAt!.toISOString() }));
}

/** Each team's tenant sync state, for the admin console (empty for non-admins, and with the local backend). */
export async function tenantSyncStates(ctx: Ctx): Promise<{ backend: "local" | "kubernetes"; states: Record<string, { state: string; message: string | null; checked_at: string; drift_repaired_at: string | null }> }> {
  const backend = env().computeBackend;
  if (!can(ctx.actor, "manage_platform")) return { backend, states: {} };
  const rows = await ctx.db
    .select({ slug: teams.slug, state: tenantSync.state, message: tenantSync.message, checkedAt: tenantSync.checkedAt, driftRepairedAt: tenantSync.driftRepairedAt })
    .from(tenantSync)
    .innerJoin(teams, eq(teams.id, tenantSync.teamId));
  return {
    backend,
    states: Object.fromEntries(rows.map((r) => [r.slug, { state: r.state, message: r.message, checked_at: r.checkedAt.toISOString(), drift_repaired_at: r.driftRepairedAt?.toISOString() ?? null }])),
  };
}

/** How jobs are contained on this instance (admins): the local executor's sandbox level, or Kubernetes pods. */
export function jobIsolation(ctx: Ctx): ({ backend: "local" } & SandboxStatus) | { backend: "kubernetes"; detail: string } | null {
  if (!can(ctx.actor, "manage_platform")) return null;
  if (env().computeBackend === "kubernetes") {
    return { backend: "kubernetes", detail: "Jobs run as pods in their team's namespace, under its ResourceQuota and LimitRange; isolation is the cluster's." };
  }
  return { backend: "local", ...localSandboxStatus() };
}
