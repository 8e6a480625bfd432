// Demo spend: the vision team sits near its budget this month, as API.md describes ($2,000 with about $1,700 spent).
// What the demo's own history already charged to vision this month counts; the rest is GPU fine-tuning earlier in
// the month, on gpu.large at its catalog price, spread over the days so far.
import { and, eq, gte, lt, sql } from "drizzle-orm";
import type { Db } from "../client";
import { priceSheet, splitAmount } from "@/server/costs/resource-prices";
import { costLedger, instanceTypes, teams } from "../schema";

export const VISION_SPENT_USD = 1700;

/** Tops vision's month-to-date spend up to $1,700 (never down); returns the amount added. */
export async function seedDemoBudgetSpend(db: Db, now = new Date()): Promise<number> {
  const [vision] = await db.select({ id: teams.id }).from(teams).where(eq(teams.slug, "vision"));
  if (!vision) return 0;
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const [{ spent }] = (await db.select({ spent: sql<number>`coalesce(sum(${costLedger.amountUsd}), 0)::float8` }).from(costLedger)
    .where(and(eq(costLedger.teamId, vision.id), gte(costLedger.periodStart, start), lt(costLedger.periodStart, end)))) as [{ spent: number }];
  const missing = Math.round((VISION_SPENT_USD - Number(spent)) * 100) / 100;
  if (missing <= 0) return 0;
  const [type] = await db.select().from(instanceTypes).where(eq(instanceTypes.name, "gpu.large"));
  const price = Number(type?.hourlyPriceUsd ?? 12);
  // gpu.large: 32 CPU, 256 GiB, 4 × A100; its cost split by kind the way the meter splits it.
  const requested = { cpu: type?.cpu ?? 32, memoryGib: type?.memoryGib ?? 256, gpus: type?.gpuCount ?? 4, gpuType: type?.gpuType ?? "nvidia-a100" };
  const prices = await priceSheet(db);
  // One fine-tuning run a day so far (at least one), each ending before now and inside the month.
  const elapsed = Math.max(60_000, now.getTime() - start.getTime());
  const runs = Math.max(1, Math.min(12, Math.floor(elapsed / 86_400_000)));
  const share = Math.round((missing / runs) * 100) / 100;
  const rows = Array.from({ length: runs }, (_, i) => {
    const amount = i === runs - 1 ? Math.round((missing - share * (runs - 1)) * 100) / 100 : share;
    const hours = amount / price;
    const periodStart = new Date(start.getTime() + (elapsed * i) / runs);
    return {
      teamId: vision.id, subjectKind: "job" as const, subjectId: `demo-vision-finetune-${start.toISOString().slice(0, 7)}-${i + 1}`,
      subjectName: `resnet fine-tune ${i + 1} on gpu.large`, userEmail: "admin@example.com", runId: null, resource: "gpu.large",
      quantityHours: hours, unitPriceUsd: price, amountUsd: amount, periodStart,
      ...splitAmount(amount, requested, prices),
      cpuCoreHours: requested.cpu * hours, memoryGibHours: requested.memoryGib * hours, gpuHours: requested.gpus * hours, gpuType: requested.gpuType,
      // Busy GPU fine-tunes (the demo history's usage, as the sampler would have measured it; the GPUs' from the DCGM exporter).
      usedCpuCoreHours: requested.cpu * hours * 0.72, usedMemoryGibHours: requested.memoryGib * hours * 0.64, usedGpuHours: requested.gpus * hours * 0.86,
      experimentName: "resnet fine-tuning", periodEnd: new Date(Math.max(periodStart.getTime() + 1000, Math.min(now.getTime() - 1000, periodStart.getTime() + hours * 3_600_000))),
    };
  });
  await db.insert(costLedger).values(rows).onConflictDoNothing();
  return missing;
}
