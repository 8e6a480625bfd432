// Per-unit prices by resource kind (CPU core-hour, memory GiB-hour, GPU-hour by type, storage GiB-month): read
// by everyone signed in (they explain the cost split), set by admins beside the instance-type catalog. The meter
// splits each job's and replica's hourly price across CPU, memory and GPU in proportion to them, and charges
// stored artifacts at the storage price; a change applies to time metered from then on.
import { and, asc, eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { resourcePrices } from "@/db/schema";
import type { ResourceKind } from "@/db/schema";
import type { ResourcePriceDto, ResourcePriceInput } from "@/lib/schemas/costs";
import { appendAudit, denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";

export const PRICE_UNITS: Record<ResourceKind, string> = { cpu: "core-hour", memory: "GiB-hour", gpu: "GPU-hour", storage: "GiB-month" };

const dto = (r: typeof resourcePrices.$inferSelect): ResourcePriceDto => ({
  kind: r.kind, gpu_type: r.gpuType === "" ? null : r.gpuType, unit: PRICE_UNITS[r.kind], unit_price_usd: Number(r.unitPriceUsd), updated_at: r.updatedAt.toISOString(),
});

export async function listResourcePrices(ctx: Ctx): Promise<ResourcePriceDto[]> {
  const rows = await ctx.db.select().from(resourcePrices).orderBy(asc(resourcePrices.kind), asc(resourcePrices.gpuType));
  return rows.map(dto);
}

/** Sets one kind's price (GPU: one type's, or any type's when gpu_type is empty); admins only, audited. */
export async function saveResourcePrice(ctx: Ctx, input: ResourcePriceInput): Promise<ResourcePriceDto> {
  const gpuType = input.kind === "gpu" ? (input.gpu_type ?? "").trim() : "";
  const target = `resource_price:${input.kind}${gpuType ? `:${gpuType}` : ""}`;
  if (!can(ctx.actor, "manage_platform")) throw await denied(ctx, { action: "resource_price.save", target, mode: "write", message: "Only platform admins set resource prices." });
  if (input.kind !== "gpu" && input.gpu_type) throw new AppError("invalid_input", `Only GPU prices are per GPU type; leave gpu_type empty for ${input.kind}.`, { fields: { gpu_type: ["only for kind gpu"] } });
  return ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(resourcePrices).where(and(eq(resourcePrices.kind, input.kind), eq(resourcePrices.gpuType, gpuType)));
    const values = { unitPriceUsd: input.unit_price_usd, updatedAt: new Date() };
    const [row] = await tx.insert(resourcePrices).values({ kind: input.kind, gpuType, ...values }).onConflictDoUpdate({ target: [resourcePrices.kind, resourcePrices.gpuType], set: values }).returning();
    await appendAudit(tx, ctx, { action: "resource_price.save", target, details: { before: before ? dto(before) : null, after: dto(row!) } });
    return dto(row!);
  });
}

/** The prices the meter uses: GPU by type (falling back to the any-type row, then 0). */
export type PriceSheet = { cpu: number; memory: number; storagePerGibMonth: number; gpu: (type: string | null) => number };

export async function priceSheet(db: DbOrTx): Promise<PriceSheet> {
  const rows = await db.select().from(resourcePrices);
  const one = (kind: ResourceKind, type = "") => {
    const r = rows.find((p) => p.kind === kind && p.gpuType === type);
    return r ? Number(r.unitPriceUsd) : null;
  };
  return {
    cpu: one("cpu") ?? 0,
    memory: one("memory") ?? 0,
    storagePerGibMonth: one("storage") ?? 0,
    gpu: (type) => (type ? one("gpu", type) : null) ?? one("gpu") ?? 0,
  };
}

export type Requested = { cpu: number; memoryGib: number; gpus: number; gpuType: string | null };
export type KindSplit = { cpuUsd: number; memoryUsd: number; gpuUsd: number };

/**
 * Splits `amount` (what the time cost at its hourly price) across CPU, memory and GPU in proportion to what each
 * requested resource lists at. With every list price 0 the whole amount is CPU's (there is nothing to weigh by).
 * The parts add up to the amount exactly (the last part takes the rounding).
 */
export function splitAmount(amount: number, requested: Requested, prices: PriceSheet): KindSplit {
  const weights = { cpu: requested.cpu * prices.cpu, memory: requested.memoryGib * prices.memory, gpu: requested.gpus * prices.gpu(requested.gpuType) };
  const total = weights.cpu + weights.memory + weights.gpu;
  if (!(total > 0)) return { cpuUsd: amount, memoryUsd: 0, gpuUsd: 0 };
  const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
  const cpuUsd = round6((amount * weights.cpu) / total);
  const memoryUsd = round6((amount * weights.memory) / total);
  const gpuUsd = round6(amount - cpuUsd - memoryUsd);
  return { cpuUsd, memoryUsd, gpuUsd };
}
