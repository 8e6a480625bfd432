// The demo's vision team sits near its budget (API.md): about $1,700 of $2,000 spent this month, at the warn step.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { teams } from "@/db/schema";
import { budgetStates } from "@/server/costs/budget";
import { demoDatabase } from "@/server/testing/fixtures";
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
});
