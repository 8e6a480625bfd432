// The alert evaluator (a worker loop, leader only): reads each rule's value from real state — the gateway's
// per-minute rollups for serving rules (./../observability/serving-signals.ts), the drift worker's windows,
// an active traffic split's per-variant figures, failed jobs, the cost ledger
// against the monthly budget, running jobs against the quota — and moves the rule's alert pending → firing
// (after `for_seconds` of breaching) → resolved, writing a history row and an audit row per change and queueing
// notifications (./notify.ts). The rule's row is locked for its transition, so two evaluators at once make one
// change, and the notification rows are unique per alert, event and target.
import { and, eq, gt, gte, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { alertHistory, alertNotifications, alertRules, alerts, costLedger, deploymentSplits, deployments, driftWindows, jobs, teamQuotas, teams } from "@/db/schema";
import type { AlertState } from "@/lib/schemas/alerts";
import { SERVING_KINDS } from "@/lib/schemas/alerts";
import { appendAudit } from "../audit/record";
import { SYSTEM_ACTOR } from "../auth/actor";
import { newRequestId } from "../context";
import { variantFigures } from "../deployments/split-figures";
import { readSignalFromRollups } from "../observability/serving-signals";
import { notificationPayload } from "./notify";
import { log } from "../observability/log";

type Rule = typeof alertRules.$inferSelect;
export type RuleReading = { value: number | null; breaching: boolean };

/** Month-to-date (UTC calendar month of `now`) spend ÷ the monthly budget; null without a budget. */
async function budgetShare(db: DbOrTx, teamId: string, now: Date): Promise<number | null> {
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const [row] = await db
    .select({ budget: teamQuotas.monthlyBudgetUsd, spent: sql<number>`coalesce((select sum(${costLedger.amountUsd}) from ${costLedger} where ${costLedger.teamId} = ${teamId} and ${costLedger.periodStart} >= ${monthStart.toISOString()}::timestamptz and ${costLedger.periodStart} <= ${now.toISOString()}::timestamptz), 0)::float8` })
    .from(teamQuotas)
    .where(eq(teamQuotas.teamId, teamId));
  const budget = row ? Number(row.budget) : 0;
  return budget > 0 ? Number(row!.spent) / budget : null;
}

/** What the team's admitted and running jobs hold of `resource` ÷ its quota (the accounting admission uses); null without a quota. */
async function quotaSaturation(db: DbOrTx, teamId: string, resource: "cpu" | "memory_gib" | "gpus"): Promise<number | null> {
  const column = resource === "cpu" ? jobs.cpu : resource === "gpus" ? jobs.gpus : jobs.memoryGib;
  const limit = resource === "cpu" ? teamQuotas.cpu : resource === "gpus" ? teamQuotas.gpus : teamQuotas.memoryGib;
  const [row] = await db
    .select({ limit, used: sql<number>`coalesce((select sum(${column}) from ${jobs} where ${jobs.teamId} = ${teamId} and ${jobs.status} in ('admitted', 'running')), 0)::float8` })
    .from(teamQuotas)
    .where(eq(teamQuotas.teamId, teamId));
  const max = row ? Number(row.limit) : 0;
  return max > 0 ? Number(row!.used) / max : null;
}

/**
 * A drift rule's value: the highest PSI of its feature (or of any feature and the prediction) among the drift
 * windows of the last `window_seconds` that hold at least `min_requests` samples; null when none does.
 */
async function driftScore(db: DbOrTx, rule: Rule, now: Date): Promise<number | null> {
  const since = new Date(now.getTime() - rule.windowSeconds * 1000);
  const [row] = await db
    .select({ psi: sql<number | null>`max(${driftWindows.psi})` })
    .from(driftWindows)
    .where(and(
      eq(driftWindows.deploymentId, rule.deploymentId!), gt(driftWindows.windowEnd, since), lte(driftWindows.windowStart, now),
      gte(driftWindows.samples, rule.minRequests), rule.feature ? eq(driftWindows.feature, rule.feature) : undefined,
    ));
  return row?.psi === null || row?.psi === undefined ? null : Number(row.psi);
}

/**
 * A canary_regression rule's value: the active split of its deployment (as baseline or candidate) — the
 * candidate's error share minus the baseline's in percentage points, or its p99 minus the baseline's in ms —
 * once both variants served `min_requests`; null without an active split or enough requests.
 */
async function canaryRegression(db: DbOrTx, rule: Rule): Promise<number | null> {
  const [split] = await db
    .select({ id: deploymentSplits.id, startedAt: deploymentSplits.startedAt, endedAt: deploymentSplits.endedAt })
    .from(deploymentSplits)
    .where(and(eq(deploymentSplits.status, "active"), or(eq(deploymentSplits.baselineId, rule.deploymentId!), eq(deploymentSplits.candidateId, rule.deploymentId!))));
  if (!split) return null;
  const { baseline: b, candidate: c } = await variantFigures(db, split);
  if (b.requests < rule.minRequests || c.requests < rule.minRequests) return null;
  if (rule.signal === "latency_p99_ms") return b.latency_p99_ms === null || c.latency_p99_ms === null ? null : c.latency_p99_ms - b.latency_p99_ms;
  return b.error_share === null || c.error_share === null ? null : Math.round((c.error_share - b.error_share) * 100 * 1e6) / 1e6;
}

/** The rule's value now and whether it breaches (serving, drift and canary: above the threshold with enough data; the others: at or above). */
export async function readRule(db: Db, rule: Rule, now: Date): Promise<RuleReading> {
  if (rule.kind === "drift" || rule.kind === "canary_regression") {
    const value = rule.kind === "drift" ? await driftScore(db, rule, now) : await canaryRegression(db, rule);
    return { value, breaching: value !== null && value > rule.threshold };
  }
  if (SERVING_KINDS.includes(rule.kind)) {
    const [dep] = await db.select({ version: deployments.version }).from(deployments).where(eq(deployments.id, rule.deploymentId!));
    if (!dep) return { value: null, breaching: false };
    const reading = await readSignalFromRollups(db, {
      signal: rule.kind as "latency_p99_ms" | "error_share", deploymentId: rule.deploymentId!, deploymentVersion: dep.version,
      threshold: rule.threshold, windowSeconds: rule.windowSeconds, minRequests: rule.minRequests,
    }, now.getTime() / 1000);
    return { value: reading.value, breaching: reading.breaching === true };
  }
  let value: number | null;
  if (rule.kind === "job_failures") {
    const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(jobs)
      .where(and(eq(jobs.teamId, rule.teamId), eq(jobs.status, "failed"), gte(jobs.finishedAt, new Date(now.getTime() - rule.windowSeconds * 1000))));
    value = Number(row?.n ?? 0);
  } else if (rule.kind === "budget_share") {
    value = await budgetShare(db, rule.teamId, now);
  } else {
    value = await quotaSaturation(db, rule.teamId, rule.resource ?? "cpu");
  }
  return { value, breaching: value !== null && value >= rule.threshold };
}

export type EvaluateOptions = { now?: Date; /** Re-notify a firing, unacknowledged alert this often. */ repeatMs: number; /** Links in notifications. */ baseUrl: string };
export type Transition = { rule: string; from: AlertState | "ok"; to: AlertState };

/** One pass over every rule of every live team; answers the transitions made. */
export async function evaluateAlertRules(db: Db, opts: EvaluateOptions): Promise<Transition[]> {
  const now = opts.now ?? new Date();
  const rules = await db.select({ rule: alertRules, team: teams.slug }).from(alertRules).innerJoin(teams, eq(teams.id, alertRules.teamId)).where(isNull(teams.archivedAt));
  const made: Transition[] = [];
  for (const { rule, team } of rules) {
    try {
      const reading = await readRule(db, rule, now);
      made.push(...(await transition(db, { rule, team, reading, now, opts })));
    } catch (err) {
      // One rule's failure (a deployment gone mid-pass) must not stop the others.
      log.error(`evaluating alert rule ${rule.name} (team ${team}) failed`, { err });
    }
  }
  return made;
}

type Open = typeof alerts.$inferSelect;

async function transition(db: Db, args: { rule: Rule; team: string; reading: RuleReading; now: Date; opts: EvaluateOptions }): Promise<Transition[]> {
  const { team, reading, now, opts } = args;
  return db.transaction(async (tx) => {
    // The lock makes concurrent evaluators take turns; what follows re-reads the state under it.
    const [rule] = await tx.select().from(alertRules).where(eq(alertRules.id, args.rule.id)).for("update");
    if (!rule) return [];
    const made: Transition[] = [];
    const silenced = rule.silencedUntil !== null && rule.silencedUntil.getTime() > now.getTime();
    const ctx = { actor: SYSTEM_ACTOR, request: { id: `alerts-${newRequestId()}` } };
    let [open] = await tx.select().from(alerts).where(and(eq(alerts.ruleId, rule.id), inArray(alerts.state, ["pending", "firing"])));
    const record = async (alert: Open, from: AlertState | "ok", to: AlertState) => {
      await tx.insert(alertHistory).values({ alertId: alert.id, ruleId: rule.id, teamId: rule.teamId, at: now, state: to, value: reading.value, threshold: rule.threshold });
      await appendAudit(tx, ctx, { action: `alert.${to}`, target: `alert_rule:${rule.id}`, teamId: rule.teamId, team, details: { rule: rule.name, alert_id: alert.id, from, value: reading.value, threshold: rule.threshold } });
      made.push({ rule: rule.name, from, to });
    };
    const notify = async (alert: Open, event: string) => {
      const payload = notificationPayload({ rule, team, alert, event, baseUrl: opts.baseUrl });
      const targets = [...rule.webhookUrls.map((t) => ({ channel: "webhook" as const, target: t })), ...rule.emails.map((t) => ({ channel: "email" as const, target: t }))];
      if (targets.length === 0) return;
      await tx.insert(alertNotifications)
        .values(targets.map((t) => ({ alertId: alert.id, teamId: rule.teamId, event, channel: t.channel, target: t.target, payload, nextAttemptAt: now })))
        .onConflictDoNothing();
    };
    if (reading.breaching) {
      if (!open) {
        [open] = await tx.insert(alerts).values({ ruleId: rule.id, teamId: rule.teamId, state: "pending", value: reading.value, threshold: rule.threshold, startedAt: now }).returning();
        await record(open!, "ok", "pending");
      }
      const alert = open!;
      if (alert.state === "pending" && now.getTime() - alert.startedAt.getTime() >= rule.forSeconds * 1000) {
        const fired = { ...alert, state: "firing" as const, firedAt: now, value: reading.value, notifiedAt: silenced ? null : now };
        await tx.update(alerts).set({ state: "firing", firedAt: now, value: reading.value, notifiedAt: fired.notifiedAt }).where(eq(alerts.id, alert.id));
        await record(fired, "pending", "firing");
        if (!silenced) await notify(fired, "firing");
      } else if (alert.state === "firing") {
        const current = { ...alert, value: reading.value };
        if (!silenced && alert.notifiedAt === null) {
          // Fired while silenced: the first notification goes out once the silence is over.
          await tx.update(alerts).set({ value: reading.value, notifiedAt: now }).where(eq(alerts.id, alert.id));
          await notify(current, "firing");
        } else if (!silenced && !alert.acknowledgedAt && alert.notifiedAt && now.getTime() - alert.notifiedAt.getTime() >= opts.repeatMs) {
          await tx.update(alerts).set({ value: reading.value, notifiedAt: now, repeats: alert.repeats + 1 }).where(eq(alerts.id, alert.id));
          await notify(current, `repeat-${alert.repeats + 1}`);
        } else {
          await tx.update(alerts).set({ value: reading.value }).where(eq(alerts.id, alert.id));
        }
      } else {
        await tx.update(alerts).set({ value: reading.value }).where(eq(alerts.id, alert.id));
      }
    } else if (open) {
      const resolved = { ...open, state: "resolved" as const, resolvedAt: now, value: reading.value };
      await tx.update(alerts).set({ state: "resolved", resolvedAt: now, value: reading.value }).where(eq(alerts.id, open.id));
      await record(resolved, open.state, "resolved");
      // Only a firing that was announced is announced as over.
      if (open.state === "firing" && open.notifiedAt && !silenced) await notify(resolved, "resolved");
    }
    await tx.update(alertRules).set({ lastValue: reading.value, lastEvaluatedAt: now }).where(eq(alertRules.id, rule.id));
    return made;
  });
}
