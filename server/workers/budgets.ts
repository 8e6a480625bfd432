// The budgets worker (./runtime.ts): records the budget steps teams reached since the last pass (audited once
// per team, month and step) and delivers the webhooks they owe (server/costs/budget-webhooks.ts).
import type { Db } from "@/db/client";
import { budgetStates } from "../costs/budget";
import { recordReachedSteps } from "../costs/budget-service";
import { deliverBudgetAlerts } from "../costs/budget-webhooks";
import { newRequestId } from "../context";
import type { Loop } from "./runtime";

export class BudgetLoop implements Loop {
  readonly name = "budgets" as const;
  constructor(private readonly db: Db, readonly intervalMs: number) {}

  async tick(): Promise<void> {
    const now = new Date();
    await recordReachedSteps(this.db, await budgetStates(this.db, undefined, now), { id: `budgets-${newRequestId()}` }, now);
    await deliverBudgetAlerts(this.db, { now });
  }
}
