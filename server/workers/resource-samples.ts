// What the job and serving resource samplers share: samples kept to a cap per owner (a job, a deployment) — past
// it, an owner's samples are merged in pairs (mean CPU, peak memory), so a long-lived owner keeps its whole history
// at a coarser step and never loses a peak — and the comparison that decides when a source's state is written.
import { sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import type { ResourceSource } from "@/db/schema";
import type { ResourceUsage } from "../compute/backend";

/** Samples an owner keeps at most before they are thinned. */
export const SAMPLE_CAP = 2_000;

/** Where a reading came from, as stored on its owner (with why, when it could not be read). */
export function sourceOf(usage: ResourceUsage): ResourceSource {
  return usage.source === "unavailable" ? { source: "unavailable", reason: usage.reason } : { source: usage.source };
}

export const sameSource = (a: ResourceSource | null, b: ResourceSource) => a?.source === b.source && a?.reason === b.reason;

/** The sample tables and the column that names each sample's owner. */
const OWNERS = {
  job: { table: "job_resource_samples", owner: "job_id" },
  deployment: { table: "deployment_resource_samples", owner: "deployment_id" },
} as const;

/** Halves an owner's samples: each odd one (in time) takes the mean CPU and the peak memory of itself and the next. */
export async function thinOwnerSamples(db: Db, kind: keyof typeof OWNERS, ownerId: string): Promise<void> {
  const table = sql.identifier(OWNERS[kind].table);
  const owner = sql.identifier(OWNERS[kind].owner);
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      with ranked as (
        select id, cpu_cores, memory_bytes, row_number() over (order by at, id) as n
        from ${table} where ${owner} = ${ownerId}
      ), pairs as (
        select a.id, (a.cpu_cores + b.cpu_cores) / 2 as cpu_cores, greatest(a.memory_bytes, b.memory_bytes) as memory_bytes
        from ranked a join ranked b on b.n = a.n + 1
        where a.n % 2 = 1
      )
      update ${table} s set cpu_cores = pairs.cpu_cores, memory_bytes = pairs.memory_bytes
      from pairs where s.id = pairs.id`);
    // The same order as above (nothing moved in time): the even rows, each merged into the one before it.
    await tx.execute(sql`
      delete from ${table} where id in (
        select id from (select id, row_number() over (order by at, id) as n from ${table} where ${owner} = ${ownerId}) r
        where r.n % 2 = 0)`);
  });
}
