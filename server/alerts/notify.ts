// Alert notifications, off the request path: the evaluator queues one row per alert, event and target
// (./evaluate.ts); this sender claims each due row with one conditional UPDATE — so two instances never send the
// same one — and posts it: webhooks get Slack-compatible JSON (`text`, plus the structured fields), email goes
// over SMTP (./smtp.ts). A failed send is retried with a growing delay, then given up with its error kept.
import { postJson } from "../http/outbound";
import { and, eq, lte, or, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { alertNotifications } from "@/db/schema";
import type { alertRules, alerts } from "@/db/schema";
import { KIND_LABELS } from "@/lib/schemas/alerts";
import { sendMail } from "./smtp";

export type NotificationPayload = {
  text: string;
  state: "firing" | "resolved";
  event: string;
  alert_id: string;
  rule_id: string;
  rule: string;
  team: string;
  kind: string;
  value: number | null;
  threshold: number;
  window_seconds: number;
  started_at: string;
  fired_at: string | null;
  resolved_at: string | null;
  url: string;
};

function shown(kind: string, v: number | null, signal: string | null = null): string {
  if (v === null) return "no data";
  if (kind === "latency_p99_ms") return `${Math.round(v * 10) / 10} ms`;
  if (kind === "drift") return `PSI ${Math.round(v * 1000) / 1000}`;
  if (kind === "canary_regression") return signal === "latency_p99_ms" ? `+${Math.round(v * 10) / 10} ms p99` : `+${Math.round(v * 100) / 100} points of error share`;
  if (kind === "job_failures") return String(v);
  return `${Math.round(v * 1000) / 10} %`;
}

export function notificationPayload(args: { rule: typeof alertRules.$inferSelect; team: string; alert: typeof alerts.$inferSelect; event: string; baseUrl: string }): NotificationPayload {
  const { rule, team, alert, event } = args;
  const state = alert.state === "resolved" ? "resolved" : "firing";
  const what = `${KIND_LABELS[rule.kind]}${rule.resource ? ` (${rule.resource})` : ""}${rule.kind === "drift" ? ` (${rule.feature ?? "any feature"})` : ""}`;
  const show = (v: number | null) => shown(rule.kind, v, rule.signal);
  const text = state === "firing"
    ? `[FIRING] ${rule.name} (team ${team}): ${what} is ${show(alert.value)}, threshold ${show(rule.threshold)}`
    : `[RESOLVED] ${rule.name} (team ${team}): ${what} is back at ${show(alert.value)}, threshold ${show(rule.threshold)}`;
  return {
    text, state, event, alert_id: alert.id, rule_id: rule.id, rule: rule.name, team, kind: rule.kind, value: alert.value, threshold: rule.threshold,
    window_seconds: rule.windowSeconds, started_at: alert.startedAt.toISOString(), fired_at: alert.firedAt?.toISOString() ?? null,
    resolved_at: alert.resolvedAt?.toISOString() ?? null, url: `${args.baseUrl}/alerts?team=${encodeURIComponent(team)}`,
  };
}

export type DeliverOptions = {
  now?: Date;
  /** smtp://host:port; without it email notifications fail with a message saying so. */
  smtpUrl?: string;
  from: string;
  maxAttempts?: number;
  /** The first retry's delay; each next one doubles it. */
  retryBaseMs?: number;
  timeoutMs?: number;
};

const CLAIM_MS = 120_000;

async function send(row: typeof alertNotifications.$inferSelect, opts: DeliverOptions): Promise<void> {
  const payload = row.payload as NotificationPayload;
  if (row.channel === "webhook") {
    const res = await postJson(row.target, JSON.stringify(payload), { headers: { "user-agent": "cairn-alerts" }, timeoutMs: opts.timeoutMs ?? 10_000 });
    if (!res.ok) throw new Error(`the webhook answered HTTP ${res.status}`);
    return;
  }
  if (!opts.smtpUrl) throw new Error("email is not configured: set CAIRN_SMTP_URL (smtp://host:port)");
  const lines = [
    payload.text, "",
    `Rule: ${payload.rule} (${payload.kind})`, `Team: ${payload.team}`, `Value: ${payload.value ?? "no data"}`, `Threshold: ${payload.threshold}`,
    `Started: ${payload.started_at}`, ...(payload.fired_at ? [`Fired: ${payload.fired_at}`] : []), ...(payload.resolved_at ? [`Resolved: ${payload.resolved_at}`] : []),
    "", `Open the team's alerts: ${payload.url}`,
  ];
  await sendMail(opts.smtpUrl, { from: opts.from, to: [row.target], subject: payload.text, text: lines.join("\n") }, { timeoutMs: opts.timeoutMs });
}

/** Sends every due notification once; answers how many were sent and how many failed this pass. */
export async function deliverAlertNotifications(db: Db, opts: DeliverOptions): Promise<{ sent: number; failed: number }> {
  const now = opts.now ?? new Date();
  const maxAttempts = opts.maxAttempts ?? 5;
  const due = or(
    and(eq(alertNotifications.status, "pending"), lte(alertNotifications.nextAttemptAt, now)),
    and(eq(alertNotifications.status, "sending"), lte(alertNotifications.claimedUntil, now)),
  );
  const rows = await db.select({ id: alertNotifications.id }).from(alertNotifications).where(due).orderBy(alertNotifications.createdAt).limit(100);
  let sent = 0;
  let failed = 0;
  for (const { id } of rows) {
    // The claim: only one sender's UPDATE matches a due row; the other's finds it taken.
    const [row] = await db.update(alertNotifications)
      .set({ status: "sending", claimedUntil: new Date(now.getTime() + CLAIM_MS), attempts: sql`${alertNotifications.attempts} + 1` })
      .where(and(eq(alertNotifications.id, id), due))
      .returning();
    if (!row) continue;
    try {
      await send(row, opts);
      await db.update(alertNotifications).set({ status: "sent", sentAt: new Date(), claimedUntil: null, lastError: null }).where(eq(alertNotifications.id, id));
      sent++;
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      const giveUp = row.attempts >= maxAttempts;
      await db.update(alertNotifications).set({
        status: giveUp ? "failed" : "pending", claimedUntil: null, lastError: message,
        nextAttemptAt: new Date(now.getTime() + (opts.retryBaseMs ?? 15_000) * 2 ** (row.attempts - 1)),
      }).where(eq(alertNotifications.id, id));
      failed++;
    }
  }
  return { sent, failed };
}
