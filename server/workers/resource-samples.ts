// What the job and serving resource samplers share: samples kept to a cap per owner (a job, a deployment) — past
// it, an owner's samples are merged in pairs (mean CPU, peak memory), so a long-lived owner keeps its whole history
// at a coarser step and never loses a peak — and the comparison that decides when a source's state is written.
import { sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import type { ResourceSource } from "@/db/schema";
import type { ResourceUsage } from "../compute/backend";
import type { DcgmGpu } from "../observability/gpu-use";
import { podGpuUtilization } from "../observability/gpu-use";
import { log } from "../observability/log";

/** Samples an owner keeps at most before they are thinned. */
export const SAMPLE_CAP = 2_000;

/** Where a reading came from, as stored on its owner (with why, when it could not be read). */
export function sourceOf(usage: ResourceUsage): ResourceSource {
  return usage.source === "unavailable" ? { source: "unavailable", reason: usage.reason } : { source: usage.source };
}

export const sameSource = (a: ResourceSource | null, b: ResourceSource) => a?.source === b.source && a?.reason === b.reason;

/**
 * Where a sampler reads its pods' GPU utilization (Kubernetes with PROMETHEUS_URL: the DCGM exporter's series, read
 * once a tick for every owner), and which pods an owner's are.
 */
export type PodGpuReader<Owner = string> = { read: () => Promise<DcgmGpu[]>; podsOf: (owner: Owner) => { namespace: string; owner: string } | null };

/** A source that stays unreadable is logged once a minute, not at every tick. */
let warnedAt = 0;

/** The DCGM exporter's GPUs now, or null (logged) where they cannot be read: samples then carry no GPU utilization. */
export async function readGpus<Owner>(reader: PodGpuReader<Owner> | undefined): Promise<DcgmGpu[] | null> {
  if (!reader) return null;
  try {
    return await reader.read();
  } catch (err) {
    if (Date.now() - warnedAt > 60_000) {
      warnedAt = Date.now();
      log.warn("GPU utilization: the DCGM exporter's series could not be read from Prometheus; GPUs are counted as requested", { err: err instanceof Error ? err.message : String(err) });
    }
    return null;
  }
}

/** The mean utilization (0–1) of the GPUs of `owner`'s pods; null where none is attributed to them. */
export function gpuUtilizationOf<Owner>(gpus: DcgmGpu[] | null, reader: PodGpuReader<Owner> | undefined, owner: Owner): number | null {
  const pods = gpus && reader ? reader.podsOf(owner) : null;
  return pods ? podGpuUtilization(gpus!, pods) : null;
}

/** The sample tables and the column that names each sample's owner. */
const OWNERS = {
  job: { table: "job_resource_samples", owner: "job_id" },
  deployment: { table: "deployment_resource_samples", owner: "deployment_id" },
} as const;

/**
 * Halves an owner's samples: each odd one (in time) takes the mean CPU, the peak memory and the mean GPU utilization
 * (of those that have one) of itself and the next.
 */
export async function thinOwnerSamples(db: Db, kind: keyof typeof OWNERS, ownerId: string): Promise<void> {
  const table = sql.identifier(OWNERS[kind].table);
  const owner = sql.identifier(OWNERS[kind].owner);
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      with ranked as (
        select id, cpu_cores, memory_bytes, gpu_utilization, row_number() over (order by at, id) as n
        from ${table} where ${owner} = ${ownerId}
      ), pairs as (
        select a.id, (a.cpu_cores + b.cpu_cores) / 2 as cpu_cores, greatest(a.memory_bytes, b.memory_bytes) as memory_bytes,
          coalesce((a.gpu_utilization + b.gpu_utilization) / 2, a.gpu_utilization, b.gpu_utilization) as gpu_utilization
        from ranked a join ranked b on b.n = a.n + 1
        where a.n % 2 = 1
      )
      update ${table} s set cpu_cores = pairs.cpu_cores, memory_bytes = pairs.memory_bytes, gpu_utilization = pairs.gpu_utilization
      from pairs where s.id = pairs.id`);
    // The same order as above (nothing moved in time): the even rows, each merged into the one before it.
    await tx.execute(sql`
      delete from ${table} where id in (
        select id from (select id, row_number() over (order by at, id) as n from ${table} where ${owner} = ${ownerId}) r
        where r.n % 2 = 0)`);
  });
}
