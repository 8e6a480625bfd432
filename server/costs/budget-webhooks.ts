// Budget alert delivery, off the request path: the budgets worker POSTs each owed alert to its team's webhook as
// Slack-compatible JSON ({"text": ...}), a few times with growing pauses, and gives up after the last attempt
// (the alert and its audit row stay; only the notification is lost). A slow or failing receiver blocks nothing.
import { postJson } from "../http/outbound";
import { and, eq, isNotNull, lte } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { budgetAlerts, teams } from "@/db/schema";
import type { BudgetStepName } from "@/db/schema";

export const WEBHOOK_ATTEMPTS = 5;
const TIMEOUT_MS = 5_000;
const FIRST_PAUSE_MS = 30_000;

export function webhookText(team: string, step: BudgetStepName, message: string): string {
  const what = step === "warn" ? "warning" : step === "approval" ? "approval step reached" : "new work blocked";
  return `Cairn budget ${what} for team ${team}: ${message}`;
}

type Post = (url: string, body: string) => Promise<{ ok: boolean; status: number }>;

const post: Post = async (url, body) => {
  return postJson(url, body, { timeoutMs: TIMEOUT_MS });
};

/** Sends every alert whose delivery is due at `now`; returns how many were delivered. */
export async function deliverBudgetAlerts(db: DbOrTx, opts: { now?: Date; send?: Post } = {}): Promise<number> {
  const now = opts.now ?? new Date();
  const send = opts.send ?? post;
  const due = await db
    .select({ a: budgetAlerts, team: teams.slug })
    .from(budgetAlerts)
    .innerJoin(teams, eq(teams.id, budgetAlerts.teamId))
    .where(and(isNotNull(budgetAlerts.webhookNextAt), lte(budgetAlerts.webhookNextAt, now), isNotNull(budgetAlerts.webhookUrl)))
    .limit(50);
  let delivered = 0;
  for (const { a, team } of due) {
    const key = and(eq(budgetAlerts.teamId, a.teamId), eq(budgetAlerts.month, a.month), eq(budgetAlerts.step, a.step));
    const attempts = a.webhookAttempts + 1;
    let error: string | null = null;
    try {
      const res = await send(a.webhookUrl!, JSON.stringify({ text: webhookText(team, a.step, a.message) }));
      if (!res.ok) error = `the webhook answered HTTP ${res.status}`;
    } catch (err) {
      error = `the webhook could not be reached: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (error === null) {
      await db.update(budgetAlerts).set({ webhookAttempts: attempts, webhookDeliveredAt: now, webhookNextAt: null, webhookError: null }).where(key);
      delivered++;
    } else {
      const next = attempts >= WEBHOOK_ATTEMPTS ? null : new Date(now.getTime() + FIRST_PAUSE_MS * 2 ** (attempts - 1));
      await db.update(budgetAlerts).set({ webhookAttempts: attempts, webhookNextAt: next, webhookError: error }).where(key);
    }
  }
  return delivered;
}
