// The instance-type catalog: readable by every signed-in user (it prices the launch form), managed by admins.
// Jobs keep the resources and price they were submitted with, so editing or removing a type changes no past
// or queued job; a later submit (or retry) by that name sees the new entry, or is told it is gone.
import { asc, eq } from "drizzle-orm";
import { instanceTypes } from "@/db/schema";
import type { InstanceTypeInput } from "@/lib/schemas/instance-types";
import { appendAudit, denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";

export type InstanceTypeDto = { name: string; cpu: number; memory_gib: number; gpu_type: string | null; gpu_count: number; hourly_price_usd: number };

const dto = (r: typeof instanceTypes.$inferSelect): InstanceTypeDto => ({
  name: r.name, cpu: r.cpu, memory_gib: r.memoryGib, gpu_type: r.gpuType, gpu_count: r.gpuCount, hourly_price_usd: r.hourlyPriceUsd,
});

export async function listInstanceTypes(ctx: Ctx): Promise<InstanceTypeDto[]> {
  const rows = await ctx.db.select().from(instanceTypes).orderBy(asc(instanceTypes.hourlyPriceUsd), asc(instanceTypes.name));
  return rows.map(dto);
}

async function requireAdmin(ctx: Ctx, action: string, name: string): Promise<void> {
  if (!can(ctx.actor, "manage_platform")) {
    throw await denied(ctx, { action, target: `instance_type:${name}`, mode: "write", message: "Only platform admins manage the instance-type catalog." });
  }
}

/** Adds an instance type, or changes one (its resources and price apply to submits from now on). */
export async function saveInstanceType(ctx: Ctx, name: string, input: InstanceTypeInput): Promise<InstanceTypeDto> {
  await requireAdmin(ctx, "instance_type.save", name);
  const values = { cpu: input.cpu, memoryGib: input.memory_gib, gpuType: input.gpu_count > 0 ? input.gpu_type ?? null : null, gpuCount: input.gpu_count, hourlyPriceUsd: input.hourly_price_usd };
  const saved = await ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(instanceTypes).where(eq(instanceTypes.name, name));
    const [row] = await tx.insert(instanceTypes).values({ name, ...values }).onConflictDoUpdate({ target: instanceTypes.name, set: values }).returning();
    await appendAudit(tx, ctx, { action: "instance_type.save", target: `instance_type:${name}`, details: { before: before ? dto(before) : null, after: dto(row!) } });
    return row!;
  });
  return dto(saved);
}

/** Removes an instance type from the catalog; jobs already submitted with it keep their resources and price. */
export async function deleteInstanceType(ctx: Ctx, name: string): Promise<void> {
  await requireAdmin(ctx, "instance_type.delete", name);
  await ctx.db.transaction(async (tx) => {
    const [gone] = await tx.delete(instanceTypes).where(eq(instanceTypes.name, name)).returning();
    if (!gone) throw new AppError("not_found", `There is no instance type "${name}".`);
    await appendAudit(tx, ctx, { action: "instance_type.delete", target: `instance_type:${name}`, details: { before: dto(gone) } });
  });
}
