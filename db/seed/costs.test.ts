// The demo's vision team sits near its budget (API.md): about $1,700 of $2,000 spent this month, at the warn step.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { teams } from "@/db/schema";
import { getAllocation } from "@/server/costs/allocation";
import { budgetStates } from "@/server/costs/budget";
import { DEMO, ctxFor, demoDatabase } from "@/server/testing/fixtures";
import { VISION_SPENT_USD, seedDemoBudgetSpend } from "./costs";

const db = demoDatabase();

describe("the demo's budget spend", () => {
  it("puts vision at $1,700 of $2,000 this month (warn), once, whatever day of the month it is", async () => {
    const [vision] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "vision"));
    for (const now of [new Date(), new Date("2031-03-01T00:00:30Z"), new Date("2031-01-31T23:59:00Z")]) {
      expect(await seedDemoBudgetSpend(db(), now)).toBe(VISION_SPENT_USD);
      expect(await seedDemoBudgetSpend(db(), now)).toBe(0);
      const [state] = await budgetStates(db(), [vision!.id], now);
      expect(state).toMatchObject({ team: "vision", monthly_budget_usd: 2000, spent_this_month_usd: 1700, step: "warn" });
    }
  });

  it("splits vision's spend like the meter: mostly A100 GPU, with CPU and memory, measured usage and an idle figure", async () => {
    const now = new Date();
    await seedDemoBudgetSpend(db(), now);
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
    const a = await getAllocation(await ctxFor(db(), DEMO.admin), { by: "team", team: "vision", from, to: new Date(now.getTime() + 1000).toISOString() });
    const vision = a.rows[0]!;
    expect(vision.total_usd).toBeCloseTo(VISION_SPENT_USD, 2);
    expect(vision.cpu_usd + vision.memory_usd + vision.gpu_usd).toBeCloseTo(vision.total_usd, 2);
    expect(vision.gpu_by_type.map((g) => g.gpu_type)).toEqual(["nvidia-a100"]);
    expect(vision.gpu_usd).toBeGreaterThan(vision.cpu_usd + vision.memory_usd);
    expect(vision).toMatchObject({ usage: "measured", cpu_efficiency: 0.72, memory_efficiency: 0.64, gpu_efficiency: 0.86 });
    // Cost-weighted: mostly GPU, so nearer the GPUs' 86 % than CPU's and memory's.
    const weighted = (0.72 * vision.cpu_usd + 0.64 * vision.memory_usd + 0.86 * vision.gpu_usd) / (vision.cpu_usd + vision.memory_usd + vision.gpu_usd);
    expect(vision.efficiency).toBeCloseTo(weighted, 3);
    expect(vision.idle_usd).toBeGreaterThan(0);
  });
});
