// Resolving a job's resources and price from the admin-managed instance-type catalog, and fitting jobs
// into a team's quota. Messages say what was asked, what is allowed, and how to fix it.
import { and, asc, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { instanceTypes, jobs } from "@/db/schema";
import type { LimitRangeSpec } from "@/lib/schemas/teams";
import { AppError } from "../errors";

export type Resources = { cpu: number; memoryGib: number; gpus: number; gpuType: string | null };
export type Resolved = Resources & { instanceType: string | null; hourlyPriceUsd: number };
export type Quota = { cpu: number; memoryGib: number; gpus: number; maxConcurrentJobs: number; gpusByType?: Record<string, number> | null; limitRange?: LimitRangeSpec | null };
export type Usage = { cpu: number; memoryGib: number; gpus: number; jobs: number; gpusByType?: Record<string, number> };

type InstanceType = typeof instanceTypes.$inferSelect;

export async function catalog(db: DbOrTx): Promise<InstanceType[]> {
  return db.select().from(instanceTypes).orderBy(asc(instanceTypes.hourlyPriceUsd));
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/**
 * An instance type (optionally with fewer GPUs than it has), or explicit resources priced at the
 * cheapest instance type that holds them.
 */
export function resolveResources(
  types: InstanceType[],
  input: { instance_type?: string; gpus?: number; resources?: { cpu: number; memory_gib: number; gpus?: number } },
  /** The team's default request per container (its limit range), used when the job names no resources. */
  defaults?: { cpu?: number; memory_gib?: number },
): Resolved {
  if (input.instance_type && input.resources) {
    throw new AppError("invalid_input", "Give either instance_type or resources, not both.", { fields: { resources: ["Remove resources, or remove instance_type"] } });
  }
  if (input.instance_type) {
    const type = types.find((t) => t.name === input.instance_type);
    if (!type) {
      throw new AppError("invalid_input", `Unknown instance type "${input.instance_type}". Choose one of ${types.map((t) => t.name).join(", ")}.`, { fields: { instance_type: ["Unknown instance type"] } });
    }
    const gpus = input.gpus ?? type.gpuCount;
    if (gpus > type.gpuCount) {
      throw new AppError("invalid_input", `${type.name} has ${plural(type.gpuCount, "GPU")}; you asked for ${gpus}. Ask for at most ${type.gpuCount}, or choose a larger instance type.`, { fields: { gpus: [`At most ${type.gpuCount}`] } });
    }
    const share = type.gpuCount > 0 ? gpus / type.gpuCount : 1;
    return { cpu: type.cpu, memoryGib: type.memoryGib, gpus, gpuType: gpus > 0 ? type.gpuType : null, instanceType: type.name, hourlyPriceUsd: round4(Number(type.hourlyPriceUsd) * (type.gpuCount > 0 ? Math.max(share, 0.25) : 1)) };
  }
  if (input.gpus !== undefined && !input.resources) {
    throw new AppError("invalid_input", "gpus goes with an instance_type; with explicit resources put gpus inside resources.", { fields: { gpus: ["Needs instance_type"] } });
  }
  if (!input.resources && defaults?.cpu !== undefined && defaults.memory_gib !== undefined) {
    // Kubernetes' LimitRange semantics: a container that asks for nothing gets the default request.
    input = { ...input, resources: { cpu: defaults.cpu, memory_gib: defaults.memory_gib } };
  }
  if (!input.resources) {
    throw new AppError("invalid_input", `Say what the job needs: an instance_type (${types.map((t) => t.name).join(", ")}) or resources {cpu, memory_gib, gpus}.`, { fields: { instance_type: ["Choose an instance type or give resources"] } });
  }
  const r = input.resources;
  const gpus = r.gpus ?? 0;
  const fit = types.find((t) => t.cpu >= r.cpu && t.memoryGib >= r.memory_gib && t.gpuCount >= gpus);
  if (!fit) {
    throw new AppError("invalid_input", `No instance type holds ${r.cpu} CPU, ${r.memory_gib} GiB and ${plural(gpus, "GPU")}; the largest is ${types.at(-1)?.name ?? "none"}.`, { fields: { resources: ["Too large for every instance type"] } });
  }
  return { cpu: r.cpu, memoryGib: r.memory_gib, gpus, gpuType: gpus > 0 ? fit.gpuType : null, instanceType: null, hourlyPriceUsd: Number(fit.hourlyPriceUsd) };
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** The per-type GPU limit that applies to the job, or null when the quota has no split (or the job no GPU). */
function typedLimit(job: Resources, quota: Quota): number | null {
  if (!quota.gpusByType || job.gpus === 0 || !job.gpuType) return null;
  return quota.gpusByType[job.gpuType] ?? 0;
}

/** Why a job can never run in this team (it is larger than the quota itself), or null. */
export function neverFits(team: string, job: Resources, quota: Quota): string | null {
  if (quota.maxConcurrentJobs < 1) return `team ${team} may not run jobs (its quota allows 0 concurrent jobs)`;
  if (job.gpus > quota.gpus) return `the job needs ${plural(job.gpus, "GPU")}; team ${team}'s quota is ${plural(quota.gpus, "GPU")}`;
  const typed = typedLimit(job, quota);
  if (typed !== null && job.gpus > typed) return `the job needs ${plural(job.gpus, `${job.gpuType} GPU`)}; team ${team}'s quota allows ${typed} of that type`;
  if (job.cpu > quota.cpu) return `the job needs ${job.cpu} CPU; team ${team}'s quota is ${quota.cpu} CPU`;
  if (job.memoryGib > quota.memoryGib) return `the job needs ${job.memoryGib} GiB of memory; team ${team}'s quota is ${quota.memoryGib} GiB`;
  return outsideLimitRange(team, job, quota.limitRange ?? null);
}

/** Why the job's container is outside the team's per-container bounds (its LimitRange), or null. */
export function outsideLimitRange(team: string, job: Resources, limits: LimitRangeSpec | null): string | null {
  if (!limits) return null;
  const { min, max } = limits;
  if (min?.cpu !== undefined && job.cpu < min.cpu) return `the job asks for ${job.cpu} CPU; team ${team}'s limit range requires at least ${min.cpu} CPU per container`;
  if (max?.cpu !== undefined && job.cpu > max.cpu) return `the job asks for ${job.cpu} CPU; team ${team}'s limit range allows at most ${max.cpu} CPU per container`;
  if (min?.memory_gib !== undefined && job.memoryGib < min.memory_gib) return `the job asks for ${job.memoryGib} GiB of memory; team ${team}'s limit range requires at least ${min.memory_gib} GiB per container`;
  if (max?.memory_gib !== undefined && job.memoryGib > max.memory_gib) return `the job asks for ${job.memoryGib} GiB of memory; team ${team}'s limit range allows at most ${max.memory_gib} GiB per container`;
  return null;
}

/** Why the job must wait now (usage + job over quota), or null when it fits. */
export function waitReason(team: string, job: Resources, quota: Quota, used: Usage): string | null {
  if (used.jobs + 1 > quota.maxConcurrentJobs) return `waiting for a job slot: team ${team} runs ${used.jobs} of ${quota.maxConcurrentJobs} concurrent jobs`;
  if (used.gpus + job.gpus > quota.gpus) return `waiting for ${plural(job.gpus, "GPU")}: team ${team} uses ${used.gpus} of ${quota.gpus}`;
  const typed = typedLimit(job, quota);
  const usedTyped = job.gpuType ? (used.gpusByType?.[job.gpuType] ?? 0) : 0;
  if (typed !== null && usedTyped + job.gpus > typed) return `waiting for ${plural(job.gpus, `${job.gpuType} GPU`)}: team ${team} uses ${usedTyped} of ${typed}`;
  if (used.cpu + job.cpu > quota.cpu) return `waiting for ${job.cpu} CPU: team ${team} uses ${round4(used.cpu)} of ${quota.cpu}`;
  if (used.memoryGib + job.memoryGib > quota.memoryGib) return `waiting for ${job.memoryGib} GiB of memory: team ${team} uses ${round4(used.memoryGib)} of ${quota.memoryGib} GiB`;
  return null;
}

/** Dominant share of a team's usage (for fair share across teams): the largest used/limit ratio. */
export function dominantShare(used: Usage, quota: Quota): number {
  const ratio = (u: number, q: number) => (q > 0 ? u / q : u > 0 ? Infinity : 0);
  return Math.max(ratio(used.cpu, quota.cpu), ratio(used.memoryGib, quota.memoryGib), ratio(used.gpus, quota.gpus), ratio(used.jobs, quota.maxConcurrentJobs));
}

/** What each team's admitted and running jobs hold (one grouped statement), for admission and the launch preview. */
export async function activeUsage(db: DbOrTx, teamIds: string[]): Promise<Map<string, Usage & { gpusByType: Record<string, number> }>> {
  const usage = new Map(teamIds.map((id) => [id, { cpu: 0, memoryGib: 0, gpus: 0, jobs: 0, gpusByType: {} as Record<string, number> }]));
  if (teamIds.length === 0) return usage;
  const rows = await db
    .select({
      teamId: jobs.teamId, type: jobs.gpuType, n: sql<number>`count(*)`, gpus: sql<number>`coalesce(sum(${jobs.gpus}), 0)`,
      cpu: sql<number>`coalesce(sum(${jobs.cpu}), 0)`, mem: sql<number>`coalesce(sum(${jobs.memoryGib}), 0)`,
    })
    .from(jobs)
    .where(and(inArray(jobs.teamId, teamIds), inArray(jobs.status, ["admitted", "running"])))
    .groupBy(jobs.teamId, jobs.gpuType);
  for (const r of rows) {
    const u = usage.get(r.teamId)!;
    u.cpu += Number(r.cpu);
    u.memoryGib += Number(r.mem);
    u.gpus += Number(r.gpus);
    u.jobs += Number(r.n);
    if (r.type && Number(r.gpus) > 0) u.gpusByType[r.type] = (u.gpusByType[r.type] ?? 0) + Number(r.gpus);
  }
  return usage;
}
