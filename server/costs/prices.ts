// Prices that are not a job's own: a serving replica is priced as one instance type of the catalog.
import { asc, eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { instanceTypes } from "@/db/schema";

/** Serving replicas are priced as this instance type when the catalog has it (else the cheapest CPU-only type). */
export const REPLICA_INSTANCE_TYPE = "cpu.small";
/** Hours in an average month, for monthly estimates. */
export const HOURS_PER_MONTH = 730;

export type ReplicaPrice = { hourly: number; as: string | null; resources: { cpu: number; memoryGib: number; gpus: number; gpuType: string | null } };

/** The hourly price a serving replica is charged at, the instance type it is priced as (null: the catalog has none) and its resources. */
export async function replicaPrice(db: DbOrTx): Promise<ReplicaPrice> {
  const types = await db.select().from(instanceTypes).where(eq(instanceTypes.gpuCount, 0)).orderBy(asc(instanceTypes.hourlyPriceUsd));
  const chosen = types.find((t) => t.name === REPLICA_INSTANCE_TYPE) ?? types[0];
  return chosen
    ? { hourly: Number(chosen.hourlyPriceUsd), as: chosen.name, resources: { cpu: chosen.cpu, memoryGib: chosen.memoryGib, gpus: 0, gpuType: null } }
    : { hourly: 0, as: null, resources: { cpu: 0, memoryGib: 0, gpus: 0, gpuType: null } };
}
