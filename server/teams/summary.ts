// One line per team for the team lists (/teams and the admin console): quota, what is in use now, and
// month-to-date spend against the monthly budget. Batched: a fixed number of queries however many teams,
// with the same figures as the team page (teamUsage) and the costs page (budgets).
import { and, asc, inArray, isNull, sql } from "drizzle-orm";
import { LIVE_DEPLOYMENT_STATUSES, deployments, jobs, teamQuotas, teams } from "@/db/schema";
import type { TeamListItemDto } from "@/lib/schemas/teams";
import { readableTeamIds, roleIn } from "../auth/policy";
import type { Ctx } from "../context";
import { budgets } from "../costs/service";
import { quotaDto } from "./service";

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** The teams the actor may read (admins: all live teams), each with quota, usage and spend. */
export async function teamSummaries(ctx: Ctx): Promise<TeamListItemDto[]> {
  const scope = readableTeamIds(ctx.actor);
  if (scope && scope.length === 0) return [];
  const base = await ctx.db
    .select({ id: teams.id, slug: teams.slug, name: teams.name, namespace: teams.namespace, createdAt: teams.createdAt })
    .from(teams)
    .where(and(isNull(teams.archivedAt), scope ? inArray(teams.id, scope) : undefined))
    .orderBy(asc(teams.slug));
  if (base.length === 0) return [];
  const ids = base.map((t) => t.id);
  const [quotas, running, live, spend] = await Promise.all([
    ctx.db.select().from(teamQuotas).where(inArray(teamQuotas.teamId, ids)),
    // What admission counts (server/teams/admin.ts teamUsage): admitted and running jobs.
    ctx.db
      .select({
        teamId: jobs.teamId, n: sql<number>`count(*)::int`, cpu: sql<number>`coalesce(sum(${jobs.cpu}), 0)::float8`,
        memory: sql<number>`coalesce(sum(${jobs.memoryGib}), 0)::float8`, gpus: sql<number>`coalesce(sum(${jobs.gpus}), 0)::float8`,
      })
      .from(jobs)
      .where(and(inArray(jobs.teamId, ids), inArray(jobs.status, ["admitted", "running"])))
      .groupBy(jobs.teamId),
    ctx.db
      .select({ teamId: deployments.teamId, n: sql<number>`count(*)::int`, replicas: sql<number>`coalesce(sum(${deployments.replicas}), 0)::int` })
      .from(deployments)
      .where(and(inArray(deployments.teamId, ids), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))
      .groupBy(deployments.teamId),
    budgets(ctx, ids),
  ]);
  const quotaBy = new Map(quotas.map((q) => [q.teamId, q]));
  const jobsBy = new Map(running.map((r) => [r.teamId, r]));
  const liveBy = new Map(live.map((r) => [r.teamId, r]));
  const spendBy = new Map(spend.map((b) => [b.team, b]));
  return base.map((t) => {
    const q = quotaBy.get(t.id);
    const j = jobsBy.get(t.id);
    const d = liveBy.get(t.id);
    const b = spendBy.get(t.slug);
    return {
      slug: t.slug, name: t.name, namespace: t.namespace, role: roleIn(ctx.actor, t.id) ?? null, created_at: t.createdAt.toISOString(),
      quota: q ? quotaDto(q) : null,
      used: {
        cpu: round3(Number(j?.cpu ?? 0)), memory_gib: round3(Number(j?.memory ?? 0)), gpus: round3(Number(j?.gpus ?? 0)),
        max_concurrent_jobs: Number(j?.n ?? 0), max_deployments: Number(d?.n ?? 0), max_replicas: Number(d?.replicas ?? 0),
      },
      spent_this_month_usd: b?.spent_this_month_usd ?? 0,
      budget_share: b?.share ?? null,
    };
  });
}
