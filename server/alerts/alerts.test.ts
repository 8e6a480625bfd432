// Alerts end to end below the HTTP layer: rules stored per team (bad input refused, nothing stored; another team's
// actor answered "not found"), each kind read from real data (the gateway's rollups, failed jobs, the cost ledger,
// running jobs against the quota), the state machine (pending → firing only after `for`, → resolved) with history
// and audit rows, acknowledge and silence, and notifications as a local webhook receiver and a local SMTP sink
// get them — once, even with two evaluators at once.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { and, count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertHistory, alertNotifications, alertRules, auditEvents, costLedger, deployments, jobs, registeredModels, teams } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { quotaSchema } from "@/lib/schemas/teams";
import { submitJob } from "../jobs/service";
import { flushInferenceRollups, recordInference, resetInferenceRollups } from "../observability/inference-rollups";
import { createTeam } from "../teams/service";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { createExperiment } from "../tracking/experiments";
import { AlertLoop } from "../workers/alerts";
import { evaluateAlertRules } from "./evaluate";
import { deliverAlertNotifications } from "./notify";
import { smtpSink } from "./testing/smtp-sink";
import { acknowledgeAlert, createAlertRule, deleteAlertRule, getAlertRule, listAlertRules, listAlerts, prometheusAlertRules, silenceAlertRule } from "./service";
import { flushDenials } from "../audit/denials";

// The local receivers these tests start listen on loopback, where webhooks are otherwise not sent (server/http/outbound.ts).
process.env.CAIRN_WEBHOOK_ALLOWED_HOSTS = "127.0.0.1,localhost";

const db = demoDatabase();
const OPTS = { repeatMs: 3_600_000, baseUrl: "http://cairn.test" };
let seq = 0;
const uniq = () => `${Date.now().toString(36)}${seq++}`;

/** A local webhook receiver: records each POSTed JSON body; answers `status()` (200 unless a test says otherwise). */
function receiver() {
  const got: Record<string, unknown>[] = [];
  let answer = 200;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      if (answer === 200) got.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(answer).end();
    });
  });
  return {
    got, server,
    setStatus: (s: number) => { answer = s; },
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-part`,
  };
}

const hook = receiver();
const sink = smtpSink();
let churnId = "";
let dep = { id: "", version: 0 };

beforeAll(async () => {
  await new Promise<void>((r) => hook.server.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => sink.server.listen(0, "127.0.0.1", r));
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  churnId = team!.id;
  const now = Date.now();
  const [model] = await db().insert(registeredModels).values({ teamId: churnId, name: `alerts-${now}`, creationTime: now, lastUpdatedTime: now }).returning({ id: registeredModels.id });
  const [made] = await db().insert(deployments).values({
    teamId: churnId, modelId: model!.id, modelName: `alerts-${now}`, version: 1, environment: "staging", status: "ready",
    replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, createdByEmail: DEMO.mle,
  }).returning({ id: deployments.id, version: deployments.version });
  dep = made!;
});

afterAll(async () => {
  await new Promise((r) => hook.server.close(r));
  await new Promise((r) => sink.server.close(r));
});

/** A fresh team of its own (so other tests' jobs and spend do not count), with the admin as its only member. */
async function freshTeam(budget = 1000) {
  const admin = await ctxFor(db(), DEMO.admin);
  const slug = `al-${uniq()}`;
  await createTeam(admin, { slug, name: slug, quota: quotaSchema.parse({ cpu: 10, memory_gib: 40, gpus: 4, max_concurrent_jobs: 5, max_deployments: 2, monthly_budget_usd: budget }) });
  const [t] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, slug));
  const exp = await createExperiment(admin, { name: `e-${slug}`, team: slug });
  const job = async (values: Partial<typeof jobs.$inferInsert>) => {
    const { job_id } = await submitJob(admin, exp.experiment_id, trainJobSchema.parse({ command: ["true"], instance_type: "cpu.small" }));
    await db().update(jobs).set(values).where(eq(jobs.id, job_id));
    return job_id;
  };
  return { admin, slug, id: t!.id, job };
}

const ruleCount = async () => (await db().select({ n: count() }).from(alertRules))[0]!.n;
const history = async (ruleId: string) => (await db().select({ state: alertHistory.state, value: alertHistory.value, threshold: alertHistory.threshold }).from(alertHistory).where(eq(alertHistory.ruleId, ruleId)).orderBy(alertHistory.id));

describe("alert rules", () => {
  it("bad input is refused with what to change, and nothing is stored", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    const before = await ruleCount();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ name: "has space", kind: "job_failures", threshold: 1 }, /name is letters, digits and _/],
      [{ name: "X", kind: "nope", threshold: 1 }, /kind is one of/],
      [{ name: "X", kind: "error_share", threshold: 0.1 }, /watches a deployment: give deployment_id/],
      [{ name: "X", kind: "error_share", deployment_id: dep.id, threshold: 5 }, /threshold for error_share is a share from 0 to 1/],
      [{ name: "X", kind: "job_failures", threshold: 0.5 }, /whole number of failed jobs/],
      [{ name: "X", kind: "quota_saturation", threshold: 0.9 }, /give resource/],
      [{ name: "X", kind: "job_failures", threshold: 1, window_seconds: 90 }, /whole minutes/],
      [{ name: "X", kind: "job_failures", threshold: 1, webhook_urls: ["ftp://x"] }, /http\(s\) URL/],
      [{ name: "X", kind: "job_failures", threshold: 1, emails: ["not-an-email"] }, /email address/],
      [{ name: "X", kind: "job_failures", threshold: 1, surprise: true }, /surprise/],
      [{ name: "X", kind: "error_share", deployment_id: "00000000-0000-4000-8000-000000000000", threshold: 0.1 }, /has no deployment/],
      // Not this server or its private network (SSRF): cloud metadata, a loopback service.
      [{ name: "X", kind: "job_failures", threshold: 1, webhook_urls: ["http://169.254.169.254/latest/meta-data/"] }, /private network/],
      [{ name: "X", kind: "job_failures", threshold: 1, webhook_urls: ["http://10.0.0.7:5432/"] }, /private network/],
    ];
    for (const [input, message] of bad) {
      await expect(createAlertRule(mle, input as never)).rejects.toMatchObject({ code: "invalid_input", message: expect.stringMatching(message) });
    }
    expect(await ruleCount()).toBe(before);
    const made = await createAlertRule(mle, { name: `Dup${uniq()}`, kind: "job_failures", threshold: 1 });
    await expect(createAlertRule(mle, { name: made.name, kind: "job_failures", threshold: 2 })).rejects.toMatchObject({ code: "conflict" });
    expect(await ruleCount()).toBe(before + 1);
  });

  it("members read; ML engineers and leads write; another team's actor gets not found everywhere", async () => {
    const [mle, ds, foreign] = await Promise.all([ctxFor(db(), DEMO.mle), ctxFor(db(), DEMO.ds), ctxFor(db(), DEMO.leadFraud)]);
    const rule = await createAlertRule(mle, { name: `Access${uniq()}`, kind: "job_failures", threshold: 1, webhook_urls: ["https://hooks.example.com/services/T0/B0/secret"] });
    expect(rule).toMatchObject({ team: "churn", state: "ok", webhook_urls: ["https://hooks.example.com/…"], viewer_can: { edit: true } });
    expect((await listAlertRules(ds, { team: "churn" })).alert_rules.find((r) => r.id === rule.id)).toMatchObject({ viewer_can: { edit: false } });
    await expect(createAlertRule(ds, { name: `Ds${uniq()}`, kind: "job_failures", threshold: 1 })).rejects.toMatchObject({ code: "forbidden" });
    await expect(silenceAlertRule(ds, rule.id, { until: new Date(Date.now() + 3_600_000).toISOString() })).rejects.toMatchObject({ code: "forbidden" });
    await flushDenials(db());
    // A refusal repeated before the audit write is one event with a `repeated` count (audit/denials.ts).
    const refusals = sql<number>`coalesce(sum(coalesce((${auditEvents.details}->>'repeated')::int, 1)), 0)::int`;
    const deniedBefore = (await db().select({ n: refusals }).from(auditEvents).where(eq(auditEvents.outcome, "denied")))[0]!.n;
    for (const attempt of [
      () => getAlertRule(foreign, rule.id), () => deleteAlertRule(foreign, rule.id), () => silenceAlertRule(foreign, rule.id, { until: null }),
      () => listAlertRules(foreign, { team: "churn" }), () => listAlerts(foreign, { team: "churn" }), () => prometheusAlertRules(foreign, { team: "churn" }),
      () => createAlertRule(foreign, { team: "churn", name: "Foreign", kind: "job_failures", threshold: 1 }),
      () => acknowledgeAlert(foreign, "00000000-0000-4000-8000-000000000000"),
    ]) await expect(attempt()).rejects.toMatchObject({ code: "not_found" });
    await flushDenials(db());
    expect((await db().select({ n: refusals }).from(auditEvents).where(eq(auditEvents.outcome, "denied")))[0]!.n).toBe(deniedBefore + 8);
    expect((await listAlertRules(foreign, {})).alert_rules.map((r) => r.id)).not.toContain(rule.id);
    await deleteAlertRule(mle, rule.id);
    await expect(getAlertRule(mle, rule.id)).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("evaluating each kind against real data", () => {
  it("job_failures: pending, firing only after `for`, then resolved once the failures leave the window — with history and audit", async () => {
    const t = await freshTeam();
    const rule = await createAlertRule(t.admin, { team: t.slug, name: "JobsFail", kind: "job_failures", threshold: 2, window_seconds: 600, for_seconds: 120 });
    const t0 = new Date();
    await t.job({ status: "failed", finishedAt: new Date(t0.getTime() - 60_000) });
    await t.job({ status: "succeeded", finishedAt: new Date(t0.getTime() - 60_000) });
    await evaluateAlertRules(db(), { ...OPTS, now: t0 });
    expect((await getAlertRule(t.admin, rule.id))).toMatchObject({ state: "ok", value: 1 });
    await t.job({ status: "failed", finishedAt: new Date(t0.getTime() - 30_000) });
    await evaluateAlertRules(db(), { ...OPTS, now: t0 });
    expect(await getAlertRule(t.admin, rule.id)).toMatchObject({ state: "pending", value: 2 });
    // 119 s later it still breaches, but not yet for 120 s.
    await evaluateAlertRules(db(), { ...OPTS, now: new Date(t0.getTime() + 119_000) });
    expect((await getAlertRule(t.admin, rule.id)).state).toBe("pending");
    await evaluateAlertRules(db(), { ...OPTS, now: new Date(t0.getTime() + 120_000) });
    const firing = await getAlertRule(t.admin, rule.id);
    expect(firing.state).toBe("firing");
    expect((await listAlerts(t.admin, { team: t.slug, state: "active" })).alerts).toMatchObject([{ id: firing.active_alert_id, state: "firing", value: 2, threshold: 2, rule_name: "JobsFail" }]);
    // Ten minutes on, the first failure has left the window.
    await evaluateAlertRules(db(), { ...OPTS, now: new Date(t0.getTime() + 560_000) });
    expect(await getAlertRule(t.admin, rule.id)).toMatchObject({ state: "ok", value: 1, active_alert_id: null });
    expect(await history(rule.id)).toEqual([
      { state: "pending", value: 2, threshold: 2 }, { state: "firing", value: 2, threshold: 2 }, { state: "resolved", value: 1, threshold: 2 },
    ]);
    await flushDenials(db());
    const audit = await db().select({ action: auditEvents.action }).from(auditEvents).where(eq(auditEvents.target, `alert_rule:${rule.id}`)).orderBy(auditEvents.id);
    expect(audit.map((a) => a.action)).toEqual(["alert_rule.create", "alert.pending", "alert.firing", "alert.resolved"]);
    expect((await listAlerts(t.admin, { team: t.slug })).history.map((h) => h.state)).toEqual(["resolved", "firing", "pending"]);
  });

  it("a pending alert that stops breaching before `for` resolves without ever firing", async () => {
    const t = await freshTeam();
    const rule = await createAlertRule(t.admin, { team: t.slug, name: "Blip", kind: "job_failures", threshold: 1, window_seconds: 60, for_seconds: 300 });
    const t0 = new Date();
    await t.job({ status: "failed", finishedAt: new Date(t0.getTime() - 10_000) });
    await evaluateAlertRules(db(), { ...OPTS, now: t0 });
    await evaluateAlertRules(db(), { ...OPTS, now: new Date(t0.getTime() + 120_000) });
    expect((await history(rule.id)).map((h) => h.state)).toEqual(["pending", "resolved"]);
  });

  it("budget_share: month-to-date spend from the ledger against the monthly budget", async () => {
    const t = await freshTeam(400);
    const rule = await createAlertRule(t.admin, { team: t.slug, name: "Budget", kind: "budget_share", threshold: 0.8 });
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const entry = (start: Date, amount: number, id: string) => ({
      teamId: t.id, subjectKind: "job" as const, subjectId: id, subjectName: "j", userEmail: DEMO.admin, resource: "cpu.small",
      quantityHours: 1, unitPriceUsd: amount, amountUsd: amount, periodStart: start, periodEnd: new Date(start.getTime() + 3_600_000),
    });
    // Last month's spend does not count.
    await db().insert(costLedger).values([entry(monthStart, 200, "a"), entry(new Date(monthStart.getTime() - 86_400_000), 999, "b")]);
    await evaluateAlertRules(db(), { ...OPTS, now });
    expect(await getAlertRule(t.admin, rule.id)).toMatchObject({ state: "ok", value: 0.5 });
    await db().insert(costLedger).values(entry(new Date(monthStart.getTime() + 60_000), 130, "c"));
    await evaluateAlertRules(db(), { ...OPTS, now });
    expect(await getAlertRule(t.admin, rule.id)).toMatchObject({ state: "firing", value: 0.825 });
  });

  it("quota_saturation: admitted and running jobs' resources against the quota", async () => {
    const t = await freshTeam();
    const gpus = await createAlertRule(t.admin, { team: t.slug, name: "Gpus", kind: "quota_saturation", resource: "gpus", threshold: 0.75 });
    const cpu = await createAlertRule(t.admin, { team: t.slug, name: "Cpu", kind: "quota_saturation", resource: "cpu", threshold: 0.9 });
    await t.job({ status: "running", cpu: 4, memoryGib: 8, gpus: 2 });
    await t.job({ status: "admitted", cpu: 2, memoryGib: 8, gpus: 1 });
    await t.job({ status: "succeeded", cpu: 8, memoryGib: 8, gpus: 4 });
    await evaluateAlertRules(db(), { ...OPTS, now: new Date() });
    expect(await getAlertRule(t.admin, gpus.id)).toMatchObject({ state: "firing", value: 0.75 });
    expect(await getAlertRule(t.admin, cpu.id)).toMatchObject({ state: "ok", value: 0.6 });
  });

  it("latency_p99_ms and error_share: the gateway's per-minute rollups of the deployment", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    resetInferenceRollups();
    const now = Date.now();
    for (let m = 0; m < 5; m++) {
      for (let i = 0; i < 20; i++) recordInference({ deploymentId: dep.id, status: i < 3 ? 503 : 200, seconds: 0.12 }, now - m * 60_000 - i);
    }
    await flushInferenceRollups(db());
    const errors = await createAlertRule(mle, { name: `Errors${uniq()}`, kind: "error_share", deployment_id: dep.id, threshold: 0.1, window_seconds: 300 });
    const slow = await createAlertRule(mle, { name: `Slow${uniq()}`, kind: "latency_p99_ms", deployment_id: dep.id, threshold: 200, window_seconds: 300 });
    const quiet = await createAlertRule(mle, { name: `Quiet${uniq()}`, kind: "error_share", deployment_id: dep.id, threshold: 0.1, min_requests: 1000 });
    await evaluateAlertRules(db(), { ...OPTS, now: new Date(now) });
    expect(await getAlertRule(mle, errors.id)).toMatchObject({ state: "firing", value: 0.15 });
    expect(await getAlertRule(mle, slow.id)).toMatchObject({ state: "ok", value: 149.5 });
    // Fewer answers than min_requests: no verdict, so no alert.
    expect((await getAlertRule(mle, quiet.id)).state).toBe("ok");
    // The same serving rules, as Prometheus alerting rules.
    const file = JSON.parse(await prometheusAlertRules(mle, { team: "churn" })) as { groups: { name: string; rules: { alert: string; expr: string; for: string }[] }[] };
    expect(file.groups[0]!.name).toBe("cairn-churn");
    expect(file.groups[0]!.rules.find((r) => r.alert === errors.name)).toMatchObject({ for: "0s", expr: expect.stringContaining(`platform_inference_errors_total{deployment="${dep.id}"}[300s]`) });
    expect(file.groups[0]!.rules.map((r) => r.alert)).not.toContain(expect.stringMatching(/^Dup/));
    for (const id of [errors.id, slow.id, quiet.id]) await deleteAlertRule(mle, id);
  });
});

describe("notifications, acknowledge and silence", () => {
  it("firing and resolved reach the webhook and the SMTP sink once, even with two evaluators and two senders at once", async () => {
    const t = await freshTeam();
    hook.got.length = 0;
    sink.messages.length = 0;
    const rule = await createAlertRule(t.admin, { team: t.slug, name: "Notified", kind: "job_failures", threshold: 1, window_seconds: 300, webhook_urls: [hook.url()], emails: ["oncall@example.com"] });
    const failed = await t.job({ status: "failed", finishedAt: new Date() });
    const now = new Date();
    await Promise.all([evaluateAlertRules(db(), { ...OPTS, now }), evaluateAlertRules(db(), { ...OPTS, now })]);
    expect((await history(rule.id)).map((h) => h.state)).toEqual(["pending", "firing"]);
    const deliver = { now, smtpUrl: sink.url(), from: "cairn@example.com" };
    await Promise.all([deliverAlertNotifications(db(), deliver), deliverAlertNotifications(db(), deliver)]);
    expect(hook.got).toHaveLength(1);
    expect(hook.got[0]).toMatchObject({
      text: expect.stringMatching(/^\[FIRING\] Notified \(team al-.*\): failed jobs of the team in the window is 1, threshold 1/),
      state: "firing", rule: "Notified", team: t.slug, kind: "job_failures", value: 1, threshold: 1, url: `http://cairn.test/alerts?team=${t.slug}`,
    });
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]).toMatchObject({ from: "cairn@example.com", to: ["oncall@example.com"] });
    expect(sink.messages[0]!.data).toMatch(/Subject: \[FIRING\] Notified/);
    expect(sink.messages[0]!.data).toMatch(/Open the team's alerts: http:\/\/cairn\.test\/alerts/);
    // A later pass sends nothing again.
    await deliverAlertNotifications(db(), deliver);
    expect(hook.got).toHaveLength(1);
    // The failure leaves the window: resolved, announced once.
    await db().update(jobs).set({ finishedAt: new Date(now.getTime() - 3_600_000) }).where(eq(jobs.id, failed));
    const later = new Date(now.getTime() + 60_000);
    await Promise.all([evaluateAlertRules(db(), { ...OPTS, now: later }), evaluateAlertRules(db(), { ...OPTS, now: later })]);
    await Promise.all([deliverAlertNotifications(db(), { ...deliver, now: later }), deliverAlertNotifications(db(), { ...deliver, now: later })]);
    expect(hook.got.map((g) => g.state)).toEqual(["firing", "resolved"]);
    expect(hook.got[1]!.text).toMatch(/^\[RESOLVED\] Notified/);
    expect(sink.messages.map((m) => m.data.match(/Subject: (\[\w+\])/)?.[1])).toEqual(["[FIRING]", "[RESOLVED]"]);
  });

  it("the worker loop evaluates and sends in one pass", async () => {
    const t = await freshTeam();
    hook.got.length = 0;
    sink.messages.length = 0;
    await createAlertRule(t.admin, { team: t.slug, name: "Looped", kind: "quota_saturation", resource: "memory_gib", threshold: 0.5, webhook_urls: [hook.url()], emails: ["ops@example.com"] });
    await t.job({ status: "running", cpu: 1, memoryGib: 30, gpus: 0 });
    const loop = new AlertLoop(db(), { intervalMs: 1000, repeatMs: 3_600_000, baseUrl: "http://cairn.test", smtpUrl: sink.url(), from: "alerts@example.com" });
    expect(loop.name).toBe("alerts");
    await loop.tick();
    expect(hook.got.filter((g) => g.rule === "Looped")).toMatchObject([{ state: "firing", kind: "quota_saturation", value: 0.75, threshold: 0.5 }]);
    expect(sink.messages.filter((m) => m.to[0] === "ops@example.com")).toHaveLength(1);
    expect(sink.messages.find((m) => m.to[0] === "ops@example.com")!.data).toMatch(/running jobs' CPU, memory or GPUs ÷ the team's quota \(memory_gib\) is 75 %, threshold 50 %/);
  });

  it("a webhook that fails is retried later, and given up after the last attempt with its error kept", async () => {
    const t = await freshTeam();
    hook.got.length = 0;
    const rule = await createAlertRule(t.admin, { team: t.slug, name: "Retry", kind: "job_failures", threshold: 1, webhook_urls: [hook.url()] });
    await t.job({ status: "failed", finishedAt: new Date() });
    const now = new Date();
    await evaluateAlertRules(db(), { ...OPTS, now });
    hook.setStatus(503);
    const opts = { from: "cairn@example.com", retryBaseMs: 1000, maxAttempts: 2 };
    expect(await deliverAlertNotifications(db(), { ...opts, now })).toEqual({ sent: 0, failed: 1 });
    // Not due again before the delay.
    expect(await deliverAlertNotifications(db(), { ...opts, now: new Date(now.getTime() + 500) })).toEqual({ sent: 0, failed: 0 });
    hook.setStatus(200);
    expect(await deliverAlertNotifications(db(), { ...opts, now: new Date(now.getTime() + 1000) })).toEqual({ sent: 1, failed: 0 });
    expect(hook.got).toHaveLength(1);
    // An email target with no SMTP relay configured: fails with what to set, and stops after maxAttempts.
    const mailOnly = await createAlertRule(t.admin, { team: t.slug, name: "MailOnly", kind: "job_failures", threshold: 1, emails: ["a@example.com"] });
    await evaluateAlertRules(db(), { ...OPTS, now });
    await deliverAlertNotifications(db(), { ...opts, now });
    await deliverAlertNotifications(db(), { ...opts, now: new Date(now.getTime() + 5000) });
    const [row] = await db().select().from(alertNotifications).where(and(eq(alertNotifications.channel, "email"), eq(alertNotifications.target, "a@example.com")));
    expect(row).toMatchObject({ status: "failed", attempts: 2, lastError: expect.stringContaining("set CAIRN_SMTP_URL") });
    expect(rule.id).not.toBe(mailOnly.id);
  });

  it("acknowledge stops the repeats of that firing; a silence mutes the rule until its time", async () => {
    const t = await freshTeam();
    hook.got.length = 0;
    const mle = await ctxFor(db(), DEMO.mle);
    const rule = await createAlertRule(t.admin, { team: t.slug, name: "Repeats", kind: "job_failures", threshold: 1, window_seconds: 86_400, webhook_urls: [hook.url()] });
    await t.job({ status: "failed", finishedAt: new Date() });
    const t0 = new Date();
    const pass = async (offsetMs: number) => {
      const now = new Date(t0.getTime() + offsetMs);
      await evaluateAlertRules(db(), { ...OPTS, now });
      await deliverAlertNotifications(db(), { now, from: "cairn@example.com" });
    };
    await pass(0);
    await pass(3_600_000); // an hour on, still firing, not acknowledged: a repeat
    const repeats = () => hook.got.filter((g) => g.rule === "Repeats").map((g) => g.event);
    expect(repeats()).toEqual(["firing", "repeat-1"]);
    const { alerts: [alert] } = await listAlerts(t.admin, { team: t.slug, state: "firing" });
    // The MLE of churn is not in this team: not found.
    await expect(acknowledgeAlert(mle, alert!.id)).rejects.toMatchObject({ code: "not_found" });
    const acked = await acknowledgeAlert(t.admin, alert!.id);
    expect(acked).toMatchObject({ state: "firing", acknowledged_by: DEMO.admin, acknowledged_at: expect.any(String), viewer_can: { acknowledge: false } });
    await pass(7_200_000);
    await pass(10_800_000);
    expect(repeats()).toEqual(["firing", "repeat-1"]);

    // Silence: a new firing while silenced sends nothing; once the silence is over, its first notification goes out.
    hook.got.length = 0;
    const silent = await createAlertRule(t.admin, { team: t.slug, name: "Silent", kind: "job_failures", threshold: 1, window_seconds: 86_400, webhook_urls: [hook.url()] });
    const until = new Date(Date.now() + 3_600_000);
    expect(await silenceAlertRule(t.admin, silent.id, { until: until.toISOString() })).toMatchObject({ silenced_until: until.toISOString() });
    await expect(silenceAlertRule(t.admin, silent.id, { until: new Date(Date.now() - 1000).toISOString() })).rejects.toMatchObject({ code: "invalid_input" });
    const now = new Date();
    await evaluateAlertRules(db(), { ...OPTS, now });
    await deliverAlertNotifications(db(), { now, from: "x@example.com" });
    expect((await getAlertRule(t.admin, silent.id)).state).toBe("firing");
    expect(hook.got.filter((g) => g.rule === "Silent")).toHaveLength(0);
    await silenceAlertRule(t.admin, silent.id, { until: null });
    await evaluateAlertRules(db(), { ...OPTS, now });
    await deliverAlertNotifications(db(), { now, from: "x@example.com" });
    expect(hook.got.filter((g) => g.rule === "Silent").map((g) => g.event)).toEqual(["firing"]);
    expect(rule.id).toBeTruthy();
  });
});
