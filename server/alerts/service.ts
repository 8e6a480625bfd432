// Alert rules and their alerts, the request side: a team's members read them; its ML engineers and leads
// (write_data) create and delete rules, silence a rule until a time, and acknowledge a firing alert (no more
// repeat notifications for it). Evaluation and notifications are the worker's (./evaluate.ts, ./notify.ts).
import { refusePrivateUrl } from "../http/outbound";
import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { alertHistory, alertRules, alerts, deployments, teams } from "@/db/schema";
import type { AlertDto, AlertHistoryDto, AlertRuleDto, AlertState, CreateAlertRuleInput } from "@/lib/schemas/alerts";
import { DEPLOYMENT_KINDS, SERVING_KINDS, createAlertRuleSchema } from "@/lib/schemas/alerts";
import { appendAudit, denied } from "../audit/record";
import { actorLabel } from "../auth/actor";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError, isUniqueViolation } from "../errors";
import { invalidInput } from "../http/errors";
import { prometheusRuleFile, toPrometheusAlertingRule } from "../observability/serving-signals";
import { findTeamBySlug } from "../teams/lookup";
import { homeTeam } from "../tracking/access";

type Team = { id: string; slug: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A webhook URL shown as its origin: a Slack-style hook carries its secret in the path. */
export function maskWebhook(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return "…";
  }
}

/** The team a write is for, refused (audited) unless the actor holds write_data there. */
async function writableTeam(ctx: Ctx, slug: string | undefined, action: string): Promise<Team> {
  const team = await homeTeam(ctx, slug);
  if (!can(ctx.actor, "write_data", team.id)) {
    throw await denied(ctx, { action, target: `team:${team.slug}`, teamId: team.id, team: team.slug, mode: "write", message: `Only ML engineers and team leads of ${team.slug} manage its alerts.` });
  }
  return team;
}

/** Teams a list reads: the one asked for (refused as not found outside the actor's teams), else every readable team. */
async function listedTeams(ctx: Ctx, slug: string | undefined): Promise<string[] | undefined> {
  if (slug) {
    const team = await findTeamBySlug(ctx.db, slug);
    if (!team || !can(ctx.actor, "read_data", team.id)) {
      throw await denied(ctx, { action: "team.read", target: `team:${slug}`, teamId: team?.id, team: slug, mode: "read", message: `Team "${slug}" was not found.` });
    }
    return [team.id];
  }
  return readableTeamIds(ctx.actor);
}

type RuleRow = typeof alertRules.$inferSelect;

/** A rule by id, for a read or a write: another team's rule (or none) answers not found, a write without write_data forbidden. */
async function ruleFor(ctx: Ctx, id: string, mode: "read" | "write", action: string): Promise<RuleRow & { team: string }> {
  const [row] = UUID.test(id)
    ? await ctx.db.select({ rule: alertRules, team: teams.slug }).from(alertRules).innerJoin(teams, eq(teams.id, alertRules.teamId)).where(eq(alertRules.id, id))
    : [];
  if (!row || !can(ctx.actor, "read_data", row.rule.teamId)) {
    throw await denied(ctx, { action, target: `alert_rule:${id}`, teamId: row?.rule.teamId, team: row?.team, mode: "read", message: `Alert rule ${id} was not found.` });
  }
  if (mode === "write" && !can(ctx.actor, "write_data", row.rule.teamId)) {
    throw await denied(ctx, { action, target: `alert_rule:${id}`, teamId: row.rule.teamId, team: row.team, mode: "write", message: `Only ML engineers and team leads of ${row.team} manage its alerts.` });
  }
  return { ...row.rule, team: row.team };
}

async function ruleDtos(ctx: Ctx, where: ReturnType<typeof and>): Promise<AlertRuleDto[]> {
  const rows = await ctx.db
    .select({ rule: alertRules, team: teams.slug, open: { id: alerts.id, state: alerts.state } })
    .from(alertRules)
    .innerJoin(teams, eq(teams.id, alertRules.teamId))
    .leftJoin(alerts, and(eq(alerts.ruleId, alertRules.id), inArray(alerts.state, ["pending", "firing"])))
    .where(where)
    .orderBy(teams.slug, alertRules.name);
  return rows.map(({ rule: r, team, open }) => ({
    id: r.id, team, name: r.name, kind: r.kind, deployment_id: r.deploymentId, resource: r.resource, feature: r.feature, signal: r.signal, threshold: r.threshold,
    window_seconds: r.windowSeconds, for_seconds: r.forSeconds, min_requests: r.minRequests,
    webhook_urls: r.webhookUrls.map(maskWebhook), emails: r.emails,
    silenced_until: r.silencedUntil && r.silencedUntil.getTime() > Date.now() ? r.silencedUntil.toISOString() : null,
    state: open?.state === "pending" || open?.state === "firing" ? open.state : "ok",
    value: r.lastValue, last_evaluated_at: r.lastEvaluatedAt?.toISOString() ?? null, active_alert_id: open?.id ?? null,
    created_by: r.createdByEmail, created_at: r.createdAt.toISOString(),
    viewer_can: { edit: can(ctx.actor, "write_data", r.teamId) },
  }));
}

export async function listAlertRules(ctx: Ctx, input: { team?: string }): Promise<{ alert_rules: AlertRuleDto[] }> {
  const ids = await listedTeams(ctx, input.team);
  if (ids?.length === 0) return { alert_rules: [] };
  return { alert_rules: await ruleDtos(ctx, and(ids ? inArray(alertRules.teamId, ids) : undefined, isNull(teams.archivedAt))) };
}

export async function getAlertRule(ctx: Ctx, id: string): Promise<AlertRuleDto> {
  const rule = await ruleFor(ctx, id, "read", "alert_rule.read");
  return (await ruleDtos(ctx, and(eq(alertRules.id, rule.id))))[0]!;
}

/** Stores a rule (validated whole first: nothing is stored for bad input); a serving rule's deployment must be the team's. */
export async function createAlertRule(ctx: Ctx, raw: CreateAlertRuleInput): Promise<AlertRuleDto> {
  const parsed = createAlertRuleSchema.safeParse(raw);
  if (!parsed.success) throw invalidInput(parsed.error, "body");
  const input = parsed.data;
  const team = await writableTeam(ctx, input.team, "alert_rule.create");
  for (const url of input.webhook_urls) refusePrivateUrl(url, "webhook_urls");
  if (DEPLOYMENT_KINDS.includes(input.kind)) {
    const [dep] = await ctx.db.select({ id: deployments.id }).from(deployments).where(and(eq(deployments.id, input.deployment_id!), eq(deployments.teamId, team.id)));
    if (!dep) throw new AppError("invalid_input", `Team ${team.slug} has no deployment ${input.deployment_id}; pick one of its deployments.`, { fields: { deployment_id: ["not a deployment of this team"] } });
  }
  const id = await ctx.db.transaction(async (tx) => {
    let row: { id: string } | undefined;
    try {
      [row] = await tx.insert(alertRules).values({
        teamId: team.id, name: input.name, kind: input.kind, deploymentId: input.deployment_id ?? null, resource: input.resource ?? null,
        feature: input.feature ?? null, signal: input.signal ?? null,
        threshold: input.threshold, windowSeconds: input.window_seconds, forSeconds: input.for_seconds, minRequests: input.min_requests,
        webhookUrls: input.webhook_urls, emails: input.emails, createdByEmail: actorLabel(ctx.actor),
      }).returning({ id: alertRules.id });
    } catch (err) {
      if (isUniqueViolation(err, "alert_rules_team_name_idx")) throw new AppError("conflict", `Team ${team.slug} already has an alert rule named ${input.name}; choose another name.`, { fields: { name: ["already used in this team"] } });
      throw err;
    }
    await appendAudit(tx, ctx, {
      action: "alert_rule.create", target: `alert_rule:${row!.id}`, teamId: team.id, team: team.slug,
      details: { name: input.name, kind: input.kind, ...(input.feature ? { feature: input.feature } : {}), ...(input.signal ? { signal: input.signal } : {}), threshold: input.threshold, window_seconds: input.window_seconds, for_seconds: input.for_seconds, webhooks: input.webhook_urls.length, emails: input.emails.length },
    });
    return row!.id;
  });
  return (await ruleDtos(ctx, and(eq(alertRules.id, id))))[0]!;
}

export async function deleteAlertRule(ctx: Ctx, id: string): Promise<void> {
  const rule = await ruleFor(ctx, id, "write", "alert_rule.delete");
  await ctx.db.transaction(async (tx) => {
    await tx.delete(alertRules).where(and(eq(alertRules.id, rule.id), eq(alertRules.teamId, rule.teamId)));
    await appendAudit(tx, ctx, { action: "alert_rule.delete", target: `alert_rule:${rule.id}`, teamId: rule.teamId, team: rule.team, details: { name: rule.name } });
  });
}

/** Mutes a rule's notifications until `until` (null lifts it); the rule is still evaluated and its history kept. */
export async function silenceAlertRule(ctx: Ctx, id: string, input: { until: string | null }): Promise<AlertRuleDto> {
  const rule = await ruleFor(ctx, id, "write", "alert_rule.silence");
  const until = input.until === null ? null : new Date(input.until);
  if (until && (Number.isNaN(until.getTime()) || until.getTime() <= Date.now())) {
    throw new AppError("invalid_input", "until must be a time in the future (or null to lift the silence).", { fields: { until: ["a future time"] } });
  }
  if (until && until.getTime() > Date.now() + 90 * 86_400_000) throw new AppError("invalid_input", "A silence lasts at most 90 days; delete the rule to stop it for good.", { fields: { until: ["at most 90 days ahead"] } });
  await ctx.db.transaction(async (tx) => {
    await tx.update(alertRules).set({ silencedUntil: until }).where(and(eq(alertRules.id, rule.id), eq(alertRules.teamId, rule.teamId)));
    await appendAudit(tx, ctx, { action: "alert_rule.silence", target: `alert_rule:${rule.id}`, teamId: rule.teamId, team: rule.team, details: { name: rule.name, until: until?.toISOString() ?? null } });
  });
  return getAlertRule(ctx, rule.id);
}

const alertColumns = {
  alert: alerts, ruleName: alertRules.name, kind: alertRules.kind, team: teams.slug,
};

function alertDto(ctx: Ctx, r: { alert: typeof alerts.$inferSelect; ruleName: string; kind: AlertRuleDto["kind"]; team: string }): AlertDto {
  const a = r.alert;
  return {
    id: a.id, rule_id: a.ruleId, rule_name: r.ruleName, kind: r.kind, team: r.team, state: a.state, value: a.value, threshold: a.threshold,
    started_at: a.startedAt.toISOString(), fired_at: a.firedAt?.toISOString() ?? null, resolved_at: a.resolvedAt?.toISOString() ?? null,
    acknowledged_at: a.acknowledgedAt?.toISOString() ?? null, acknowledged_by: a.acknowledgedByEmail,
    viewer_can: { acknowledge: a.state === "firing" && !a.acknowledgedAt && can(ctx.actor, "write_data", a.teamId) },
  };
}

/** Alerts of the actor's teams (open first, then newest), and the latest state changes. */
export async function listAlerts(ctx: Ctx, input: { team?: string; state?: "active" | AlertState }): Promise<{ alerts: AlertDto[]; history: AlertHistoryDto[] }> {
  const ids = await listedTeams(ctx, input.team);
  if (ids?.length === 0) return { alerts: [], history: [] };
  const scope = ids ? inArray(alerts.teamId, ids) : undefined;
  const state = input.state === "active" ? inArray(alerts.state, ["pending", "firing"]) : input.state ? eq(alerts.state, input.state) : undefined;
  const [rows, history] = await Promise.all([
    ctx.db.select(alertColumns).from(alerts).innerJoin(alertRules, eq(alertRules.id, alerts.ruleId)).innerJoin(teams, eq(teams.id, alerts.teamId))
      .where(and(scope, state))
      .orderBy(sql`case ${alerts.state} when 'firing' then 0 when 'pending' then 1 else 2 end`, desc(alerts.startedAt))
      .limit(200),
    ctx.db.select({ h: alertHistory, ruleName: alertRules.name }).from(alertHistory).innerJoin(alertRules, eq(alertRules.id, alertHistory.ruleId))
      .where(ids ? inArray(alertHistory.teamId, ids) : undefined)
      .orderBy(desc(alertHistory.at), desc(alertHistory.id))
      .limit(200),
  ]);
  return {
    alerts: rows.map((r) => alertDto(ctx, r)),
    history: history.map(({ h, ruleName }) => ({ alert_id: h.alertId, rule_id: h.ruleId, rule_name: ruleName, at: h.at.toISOString(), state: h.state, value: h.value, threshold: h.threshold })),
  };
}

/** Acknowledges a firing alert: someone is on it, so no repeat notifications for this firing (resolved is still sent). */
export async function acknowledgeAlert(ctx: Ctx, id: string): Promise<AlertDto> {
  const [row] = UUID.test(id)
    ? await ctx.db.select(alertColumns).from(alerts).innerJoin(alertRules, eq(alertRules.id, alerts.ruleId)).innerJoin(teams, eq(teams.id, alerts.teamId)).where(eq(alerts.id, id))
    : [];
  if (!row || !can(ctx.actor, "read_data", row.alert.teamId)) {
    throw await denied(ctx, { action: "alert.acknowledge", target: `alert:${id}`, teamId: row?.alert.teamId, team: row?.team, mode: "read", message: `Alert ${id} was not found.` });
  }
  if (!can(ctx.actor, "write_data", row.alert.teamId)) {
    throw await denied(ctx, { action: "alert.acknowledge", target: `alert:${id}`, teamId: row.alert.teamId, team: row.team, mode: "write", message: `Only ML engineers and team leads of ${row.team} acknowledge its alerts.` });
  }
  if (row.alert.state !== "firing") throw new AppError("conflict", `Alert ${id} is ${row.alert.state}; only a firing alert is acknowledged.`);
  if (row.alert.acknowledgedAt) return alertDto(ctx, row);
  const who = actorLabel(ctx.actor);
  const at = new Date();
  await ctx.db.transaction(async (tx) => {
    await tx.update(alerts).set({ acknowledgedAt: at, acknowledgedByEmail: who }).where(and(eq(alerts.id, id), eq(alerts.teamId, row.alert.teamId), isNull(alerts.acknowledgedAt)));
    await appendAudit(tx, ctx, { action: "alert.acknowledge", target: `alert:${id}`, teamId: row.alert.teamId, team: row.team, details: { rule: row.ruleName } });
  });
  return alertDto(ctx, { ...row, alert: { ...row.alert, acknowledgedAt: at, acknowledgedByEmail: who } });
}

/**
 * The team's serving rules (p99 latency, error share) as a Prometheus rule file, from the same definitions Cairn
 * evaluates (server/observability/serving-signals.ts). JSON is YAML: Prometheus loads it from `rule_files:`.
 */
export async function prometheusAlertRules(ctx: Ctx, input: { team?: string }): Promise<string> {
  const team = await homeTeam(ctx, input.team);
  const rows = await ctx.db.select().from(alertRules)
    .where(and(eq(alertRules.teamId, team.id), inArray(alertRules.kind, [...SERVING_KINDS])))
    .orderBy(alertRules.name);
  const rules = rows.map((r) => toPrometheusAlertingRule({
    signal: r.kind as "latency_p99_ms" | "error_share", deploymentId: r.deploymentId!, threshold: r.threshold, windowSeconds: r.windowSeconds,
    minRequests: r.minRequests, name: r.name, team: team.slug, forSeconds: r.forSeconds,
  }));
  return prometheusRuleFile(rules, `cairn-${team.slug}`);
}
