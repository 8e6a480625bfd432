// Budgets that act, through the REST routes: the month-end forecast on a synthetic month (fixed clock), then one
// team walked past each step — warn (a note on the answer, an audit row once, a webhook a local receiver gets),
// approval (a data scientist refused with budget_exceeded naming the leads, a lead's extension letting them
// through, a foreign lead refused), block (the lead and the admin refused too) — while what was running keeps
// running and retries are not new work.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents, budgetAlerts, costLedger, deployments, jobs, registeredModels, teams } from "@/db/schema";
import type { JobSpec } from "@/db/schema";
import { POST as trainRoute } from "@/app/api/v1/experiments/[id]/train/route";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { POST as approveRoute } from "@/app/api/v1/approvals/[id]/approve/route";
import { POST as splitRoute } from "@/app/api/v1/deployments/[id]/split/route";
import { GET as costsRoute } from "@/app/api/v1/costs/route";
import { GET as teamRoute } from "@/app/api/v1/teams/[slug]/route";
import { PUT as quotaRoute } from "@/app/api/v1/teams/[slug]/quota/route";
import { POST as extendRoute } from "@/app/api/v1/teams/[slug]/budget-extensions/route";
import type { BudgetStateDto } from "@/lib/schemas/costs";
import { budgetStates, forecastMonthEnd, monthOf } from "@/server/costs/budget";
import { deliverBudgetAlerts } from "@/server/costs/budget-webhooks";
import { meterCosts } from "@/server/costs/meter";
import { previewJob, retryJob } from "@/server/jobs/service";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { post } from "@/server/mlflow/test-client";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, call, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { BudgetLoop } from "@/server/workers/budgets";
import { flushDenials } from "@/server/audit/denials";

// The local receivers these tests start listen on loopback, where webhooks are otherwise not sent (server/http/outbound.ts).
process.env.CAIRN_WEBHOOK_ALLOWED_HOSTS = "127.0.0.1,localhost";

const db = demoDatabase();
const H = 3_600_000;
const tok: Record<string, string> = {};
let exp = "";
let model = "";
const received: { text: string }[] = [];
let failNext = 0;
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (c: Buffer) => (body += c.toString()));
  req.on("end", () => {
    if (failNext > 0) {
      failNext--;
      res.writeHead(503).end();
      return;
    }
    received.push(JSON.parse(body) as { text: string });
    res.writeHead(200).end("ok");
  });
});

async function teamId(slug: string): Promise<string> {
  return (await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, slug)))[0]!.id;
}

function spec(): JobSpec {
  return { source: null, command: ["true"], image: null, env: {}, instance_type: "cpu.small", priority: "normal", max_runtime_seconds: 3600, retries: 0 };
}

/** Charges `amount` to churn this month (a ledger row at the month's start, as the meter would have written it). */
async function spend(amount: number): Promise<void> {
  const { start } = monthOf(new Date());
  await db().insert(costLedger).values({
    teamId: await teamId("churn"), subjectKind: "job", subjectId: unique("budget-spend"), subjectName: "earlier work", userEmail: DEMO.ds, resource: "gpu.large",
    quantityHours: amount / 12, unitPriceUsd: 12, amountUsd: amount, periodStart: start, periodEnd: new Date(start.getTime() + 1000),
  });
}

const train = (token: string) => call(trainRoute, { method: "POST", token, params: { id: exp }, body: { command: ["python3", "-c", "print(1)"], instance_type: "cpu.small" } });
const deploy = (token: string) => call(deployRoute, { method: "POST", token, params: { name: model }, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false } });
const extend = (token: string, slug: string, body: unknown) => call(extendRoute, { method: "POST", token, params: { slug }, body });
const churnBudget = async (token: string) => ((await call(teamRoute, { token, params: { slug: "churn" } })).json as { budget: BudgetStateDto }).budget;
const errorOf = (json: unknown) => (json as { error: { code: string; message: string } }).error;

async function audits(action: string, outcome?: string) {
  // Oldest first: `.at(-1)` is the latest.
  await flushDenials(db());
  return db().select().from(auditEvents).where(and(eq(auditEvents.action, action), eq(auditEvents.team, "churn"), outcome ? eq(auditEvents.outcome, outcome as "denied") : undefined)).orderBy(auditEvents.id);
}

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  for (const [k, email, team] of [["ds", DEMO.ds, "churn"], ["lead", DEMO.lead, "churn"], ["admin", DEMO.admin, "churn"], ["leadFraud", DEMO.leadFraud, "fraud"]] as const) {
    tok[k] = await tokenFor(db(), email, team);
  }
  exp = (await newRun(tok.ds!, "budget")).exp;
  model = unique("budget-model");
  await createModel(tok.ds!, model);
  const at = await newRun(tok.ds!, "budget-model");
  await putRunFile(tok.ds!, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 3, classes: 2, weights: [1, -1, 0.5], bias: [0] })));
  await post(tok.ds!, "runs/log-batch", { run_id: at.run, metrics: [{ key: "auc", value: 0.8, timestamp: Date.now(), step: 0 }] });
  await registerVersion(tok.ds!, model, at);
  await registerVersion(tok.ds!, model, at); // v2: a split's candidate
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe("the month-end forecast", () => {
  // June 2030: 720 hours; at 00:00 on the 11th, 240 have passed and 480 are left.
  const now = new Date("2030-06-11T00:00:00Z");

  it("is spend so far + max(what runs now, the month's average) × hours left", () => {
    expect(forecastMonthEnd({ spent: 240, runningHourly: 0, now })).toMatchObject({ forecast: 720, averageHourly: 1, hoursLeft: 480 });
    expect(forecastMonthEnd({ spent: 240, runningHourly: 3, now }).forecast).toBe(240 + 3 * 480);
    // The first minutes of a month count as an hour: no division by almost nothing.
    expect(forecastMonthEnd({ spent: 2, runningHourly: 0, now: new Date("2030-06-01T00:01:00Z") }).forecast).toBeCloseTo(2 + 2 * (720 - 1 / 60), 1);
  });

  it("reads the month's ledger, the running jobs' prices and the live replicas at the replica price", async () => {
    const fraud = await teamId("fraud");
    const row = { teamId: fraud, subjectKind: "job" as const, subjectName: "synthetic", userEmail: DEMO.dsFraud, resource: "cpu.large", unitPriceUsd: 0.4 };
    await db().insert(costLedger).values([
      { ...row, subjectId: unique("june"), quantityHours: 300, amountUsd: 120, periodStart: new Date("2030-06-02T00:00:00Z"), periodEnd: new Date("2030-06-02T01:00:00Z") },
      { ...row, subjectId: unique("june"), quantityHours: 300, amountUsd: 120, periodStart: new Date("2030-06-10T00:00:00Z"), periodEnd: new Date("2030-06-10T01:00:00Z") },
      // May and July are other months.
      { ...row, subjectId: unique("may"), quantityHours: 1, amountUsd: 999, periodStart: new Date("2030-05-31T23:00:00Z"), periodEnd: new Date("2030-05-31T23:59:00Z") },
      { ...row, subjectId: unique("july"), quantityHours: 1, amountUsd: 999, periodStart: new Date("2030-07-01T00:00:00Z"), periodEnd: new Date("2030-07-01T01:00:00Z") },
    ]);
    const [idle] = await budgetStates(db(), [fraud], now);
    expect(idle).toMatchObject({ team: "fraud", spent_this_month_usd: 240, forecast_month_end_usd: 720, forecast: { running_hourly_usd: 0, average_hourly_usd: 1, hours_left: 480 } });
    // A running job at $2.50/h and a live deployment of 5 replicas at $0.10/h: $3/h beats the $1/h average.
    const run = await newRun(tok.leadFraud!, "forecast");
    const [job] = await db().insert(jobs).values({
      teamId: fraud, experimentId: Number(run.exp), runId: run.run, userId: null, userEmail: DEMO.dsFraud, name: "forecast-running", spec: spec(), cpu: 2, memoryGib: 4,
      hourlyPriceUsd: 2.5, priority: 1, attempt: 1, backend: "local", status: "running", startedAt: new Date(),
    }).returning({ id: jobs.id });
    const fraudModel = unique("forecast-model");
    await createModel(tok.leadFraud!, fraudModel);
    const [m] = await db().select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.name, fraudModel));
    const [d] = await db().insert(deployments).values({
      teamId: fraud, modelId: m!.id, modelName: fraudModel, version: 1, environment: "staging", status: "ready", replicas: 5, autoScale: false, minReplicas: 5, maxReplicas: 5,
      createdByEmail: DEMO.dsFraud, readyAt: new Date(),
    }).returning({ id: deployments.id });
    try {
      const [busy] = await budgetStates(db(), [fraud], now);
      expect(busy!.forecast.running_hourly_usd).toBe(3);
      expect(busy!.forecast_month_end_usd).toBe(240 + 3 * 480);
    } finally {
      await db().delete(deployments).where(eq(deployments.id, d!.id));
      await db().delete(jobs).where(eq(jobs.id, job!.id));
    }
  });
});

describe("budget steps on the API", () => {
  let running = "";
  let ended = "";
  let production = "";

  it("an old quota body stays valid and keeps the default thresholds; an admin sets a budget and a webhook", async () => {
    const old = await call(quotaRoute, { method: "PUT", token: tok.admin, params: { slug: "churn" }, body: { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, monthly_budget_usd: 1000 } });
    expect(old.status, JSON.stringify(old.json)).toBe(200);
    expect(old.json).toMatchObject({ monthly_budget_usd: 1000, budget_thresholds: { warn_pct: 80, approval_pct: 100, block_pct: 120 }, budget_webhook_set: false });
    const bad = await call(quotaRoute, { method: "PUT", token: tok.admin, params: { slug: "churn" }, body: { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, monthly_budget_usd: 1000, budget_thresholds: { warn_pct: 150 } } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain("approval_pct (100 %) is below warn_pct (150 %)");
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const set = await call(quotaRoute, {
      method: "PUT", token: tok.admin, params: { slug: "churn" },
      body: { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, monthly_budget_usd: 1000, budget_thresholds: { warn_pct: 80 }, budget_webhook_url: url },
    });
    expect(set.json).toMatchObject({ budget_thresholds: { warn_pct: 80, approval_pct: 100, block_pct: 120 }, budget_webhook_set: true });
    expect(JSON.stringify(set.json)).not.toContain(url);
    // A lead may not set quotas or webhooks.
    expect((await call(quotaRoute, { method: "PUT", token: tok.lead, params: { slug: "churn" }, body: { cpu: 1, memory_gib: 1, gpus: 0, max_concurrent_jobs: 1, max_deployments: 1, monthly_budget_usd: 1 } })).status).toBe(403);
  });

  it("under every line: no note", async () => {
    const res = await train(tok.ds!);
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect(res.json).toMatchObject({ budget: null });
    ended = (res.json as { job_id: string }).job_id;
    await db().update(jobs).set({ status: "failed", finishedAt: new Date() }).where(eq(jobs.id, ended));
  });

  it("warn: the job and the deploy go ahead with a budget note; the step is audited once and the webhook told", async () => {
    await spend(850);
    const res = await train(tok.ds!);
    expect(res.status).toBe(202);
    const note = (res.json as { budget: { step: string; message: string } }).budget;
    expect(note).toMatchObject({ step: "warn", spent_usd: 850, threshold_usd: 800 });
    expect(note.message).toContain("$850.00");
    const d = await deploy(tok.ds!);
    expect(d.status, JSON.stringify(d.json)).toBe(201);
    expect(d.json).toMatchObject({ budget: { step: "warn" } });
    // A lead asks for a production deploy: pending, with the note.
    const asked = await call(deployRoute, { method: "POST", token: tok.lead, params: { name: model }, body: { version: 1, environment: "production", replicas: 1, auto_scale: false } });
    expect(asked.status, JSON.stringify(asked.json)).toBe(202);
    expect(asked.json).toMatchObject({ status: "pending_approval", budget: { step: "warn" } });
    production = (asked.json as { approval_request_id: string }).approval_request_id;
    expect(await audits("budget.step_reached")).toHaveLength(1);
    expect((await audits("job.submit")).at(-1)!.details).toMatchObject({ budget_step: "warn" });
    expect(await churnBudget(tok.ds!)).toMatchObject({ step: "warn", spent_this_month_usd: 850, lines: { warn_usd: 800, approval_usd: 1000, block_usd: 1200 }, viewer: { refused: false, can_extend: false } });

    // The worker delivers it: a first failure is retried later, then the receiver has it once.
    failNext = 1;
    expect(await deliverBudgetAlerts(db())).toBe(0);
    const [pending] = await db().select().from(budgetAlerts).where(eq(budgetAlerts.step, "warn"));
    expect(pending).toMatchObject({ webhookAttempts: 1, webhookError: "the webhook answered HTTP 503" });
    expect(await deliverBudgetAlerts(db())).toBe(0); // not due yet
    expect(await deliverBudgetAlerts(db(), { now: new Date(Date.now() + 60_000) })).toBe(1);
    expect(received).toHaveLength(1);
    expect(received[0]!.text).toMatch(/^Cairn budget warning for team churn: Team churn has spent \$850\.00 this month/);
    expect(await deliverBudgetAlerts(db(), { now: new Date(Date.now() + 3_600_000) })).toBe(0);
  });

  it("approval: a data scientist is refused with budget_exceeded naming the leads; a lead goes ahead", async () => {
    await spend(200); // $1,050 of $1,000
    const res = await train(tok.ds!);
    expect(res.status).toBe(403);
    const error = errorOf(res.json);
    expect(error.code).toBe("budget_exceeded");
    expect(error.message).toContain("$1,050.00");
    expect(error.message).toContain("$1,000.00");
    expect(error.message).toContain(DEMO.lead);
    const refusedDeploy = await deploy(tok.ds!);
    expect(refusedDeploy.status).toBe(403);
    expect(errorOf(refusedDeploy.json).code).toBe("budget_exceeded");
    const denied = await audits("job.submit", "denied");
    expect(denied.at(-1)!.details).toMatchObject({ reason: "budget_exceeded", step: "approval", spent_usd: 1050, threshold_usd: 1000 });
    expect(await audits("deployment.create", "denied")).toHaveLength(1);
    // The launch form's preview says so before the form is sent.
    const preview = await previewJob(await ctxFor(db(), DEMO.ds), exp, trainJobSchema.parse({ instance_type: "cpu.small", command: ["true"] }));
    expect(preview).toMatchObject({ outcome: "refused", reason: expect.stringContaining("past its approval line of $1,000.00") });
    const byLead = await train(tok.lead!);
    expect(byLead.status).toBe(202);
    expect(byLead.json).toMatchObject({ budget: { step: "approval" } });
    expect(await churnBudget(tok.ds!)).toMatchObject({ step: "approval", approvers: [DEMO.lead], viewer: { refused: true, can_extend: false } });
    // The webhook hears of the new step once.
    await deliverBudgetAlerts(db());
    expect(received.map((r) => r.text.split(":")[0])).toEqual(["Cairn budget warning for team churn", "Cairn budget approval step reached for team churn"]);
  });

  it("only the team's leads and admins grant an extension: a foreign lead gets 404, a data scientist 403, bad input 400", async () => {
    expect((await extend(tok.leadFraud!, "churn", { amount_usd: 500, reason: "not mine" })).status).toBe(404);
    expect((await extend(tok.ds!, "churn", { amount_usd: 500, reason: "please" })).status).toBe(403);
    expect((await extend(tok.lead!, "churn", { amount_usd: -5, reason: "x" })).status).toBe(400);
    expect((await extend(tok.lead!, "churn", { amount_usd: 5, reason: "ok", extra: 1 })).status).toBe(400);
    // Both refusals are audited (the foreign lead's as a read of a team it cannot see).
    expect((await audits("budget.extend", "denied")).map((a) => a.actor).sort()).toEqual([DEMO.ds, DEMO.leadFraud].map((e) => `${e} (token)`).sort());
  });

  it("a lead's extension raises the approval line: the data scientist's submit is accepted", async () => {
    const granted = await extend(tok.lead!, "churn", { amount_usd: 100, reason: "GPU sweep for the quarterly model" });
    expect(granted.status, JSON.stringify(granted.json)).toBe(201);
    expect(granted.json).toMatchObject({ team: "churn", amount_usd: 100, reason: "GPU sweep for the quarterly model", granted_by: DEMO.lead, month: monthOf(new Date()).month });
    const res = await train(tok.ds!);
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect(res.json).toMatchObject({ budget: { step: "warn" } });
    expect((await audits("budget.extend")).filter((a) => a.outcome === "allowed")).toHaveLength(1);
    const costs = await call(costsRoute, { token: tok.ds, path: "/api/v1/costs" });
    const churn = (costs.json as { budgets: BudgetStateDto[] }).budgets.find((b) => b.team === "churn")!;
    expect(churn).toMatchObject({ step: "warn", extensions_usd: 100, lines: { approval_usd: 1100 }, extensions: [{ amount_usd: 100, granted_by: DEMO.lead }] });
    expect(churn.forecast_month_end_usd).toBeGreaterThanOrEqual(1050);
  });

  it("block: new jobs and deploys are refused for everyone, lead and admin included; what ran keeps running", async () => {
    // A job and a deployment that are running when the block begins.
    const churn = await teamId("churn");
    const [job] = await db().insert(jobs).values({
      teamId: churn, experimentId: Number(exp), runId: (await newRun(tok.ds!, "budget-running")).run, userId: null, userEmail: DEMO.ds, name: "running-through-the-block", spec: spec(),
      cpu: 2, memoryGib: 4, hourlyPriceUsd: 0.1, priority: 1, attempt: 1, backend: "local", status: "running", startedAt: new Date(Date.now() - 2 * H),
    }).returning({ id: jobs.id });
    running = job!.id;
    await spend(200); // $1,250: past the $1,200 block line
    for (const who of ["ds", "lead", "admin"] as const) {
      const res = await train(tok[who]!);
      expect(res.status, who).toBe(403);
      expect(errorOf(res.json).code).toBe("budget_exceeded");
      expect(errorOf(res.json).message).toContain("past its block line of $1,200.00");
    }
    expect((await deploy(tok.lead!)).status).toBe(403);
    // A traffic split starts a candidate deployment: a new deploy, refused too.
    const [baseline] = await db().select({ id: deployments.id }).from(deployments).where(eq(deployments.teamId, churn));
    await db().update(deployments).set({ status: "ready", readyAt: new Date() }).where(eq(deployments.id, baseline!.id));
    const split = await call(splitRoute, { method: "POST", token: tok.lead, params: { id: baseline!.id }, body: { version: 2, weight: 10 } });
    expect(split.status, JSON.stringify(split.json)).toBe(403);
    expect(errorOf(split.json).code).toBe("budget_exceeded");
    // Approving the production request would bring a new deployment up: refused too, and it stays pending.
    const approve = await call(approveRoute, { method: "POST", token: tok.admin, params: { id: production }, body: { comment: "ok" } });
    expect(approve.status).toBe(403);
    expect(errorOf(approve.json).code).toBe("budget_exceeded");
    expect(await audits("approval.approve", "denied")).toHaveLength(1);
    // The worker records the step and delivers; the meter keeps charging the running job; nothing was stopped.
    await new BudgetLoop(db(), 60_000).tick();
    expect(await meterCosts(db())).toBeGreaterThan(0);
    const [after] = await db().select({ status: jobs.status }).from(jobs).where(eq(jobs.id, running));
    expect(after!.status).toBe("running");
    const live = await db().select({ status: deployments.status }).from(deployments).where(eq(deployments.teamId, churn));
    expect(live.length).toBeGreaterThan(0);
    expect(live.every((d) => d.status === "deploying" || d.status === "ready")).toBe(true);
    const charged = await db().select({ n: sql<number>`count(*)::int` }).from(costLedger).where(eq(costLedger.subjectId, running));
    expect(charged[0]!.n).toBe(1);
    const steps = await db().select({ step: budgetAlerts.step, delivered: budgetAlerts.webhookDeliveredAt }).from(budgetAlerts).where(eq(budgetAlerts.teamId, churn)).orderBy(budgetAlerts.reachedAt);
    expect(steps.map((s) => s.step).sort()).toEqual(["approval", "block", "warn"]);
    expect(steps.every((s) => s.delivered !== null)).toBe(true);
    expect(await audits("budget.step_reached")).toHaveLength(3);
    expect((await audits("job.submit", "denied")).filter((a) => (a.details as { step?: string }).step === "block")).toHaveLength(3);
  });

  it("a user's retry of an ended job is a new job: the block refuses it too (the scheduler's own attempts are not held)", async () => {
    await expect(retryJob(await ctxFor(db(), DEMO.ds), ended)).rejects.toMatchObject({ code: "budget_exceeded" });
  });

  it("raising the budget lifts the block", async () => {
    const res = await call(quotaRoute, { method: "PUT", token: tok.admin, params: { slug: "churn" }, body: { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, monthly_budget_usd: 5000 } });
    expect(res.json).toMatchObject({ budget_thresholds: { warn_pct: 80 }, budget_webhook_set: true });
    expect((await train(tok.ds!)).status).toBe(202);
  });
});
