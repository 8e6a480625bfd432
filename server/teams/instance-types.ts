import { asc } from "drizzle-orm";
import { instanceTypes } from "@/db/schema";
import type { Ctx } from "../context";

export type InstanceTypeDto = { name: string; cpu: number; memory_gib: number; gpu_type: string | null; gpu_count: number; hourly_price_usd: number };

/** The instance-type catalog (readable by every signed-in user: it prices the launch form). */
export async function listInstanceTypes(ctx: Ctx): Promise<InstanceTypeDto[]> {
  const rows = await ctx.db.select().from(instanceTypes).orderBy(asc(instanceTypes.hourlyPriceUsd));
  return rows.map((r) => ({ name: r.name, cpu: r.cpu, memory_gib: r.memoryGib, gpu_type: r.gpuType, gpu_count: r.gpuCount, hourly_price_usd: r.hourlyPriceUsd }));
}
