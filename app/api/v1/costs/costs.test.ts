// Costs: the meter charges jobs (runtime × their price) and deployments (replicas × served time × the
// replica price) into the ledger without charging any time twice, and GET /api/v1/costs answers totals,
// dense series and budgets — each team its own, admins all.
import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { costLedger, deployments, jobs, registeredModels, teams } from "@/db/schema";
import type { JobSpec } from "@/db/schema";
import { GET as costsRoute } from "@/app/api/v1/costs/route";
import type { Costs } from "@/server/costs/service";
import { meterCosts } from "@/server/costs/meter";
import { createModel, newRun, unique } from "@/server/registry/test-helpers";
import { DEMO, call, demoDatabase, tokenFor } from "@/server/testing/fixtures";

const db = demoDatabase();
const H = 3_600_000;
let churnToken = "";
let fraudToken = "";
let adminToken = "";
const ids: Record<string, string> = {};

function spec(instance: string | null): JobSpec {
  return { source: null, command: ["true"], image: null, env: {}, instance_type: instance, priority: "normal", max_runtime_seconds: 3600, retries: 0 };
}

async function teamId(slug: string): Promise<string> {
  return (await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, slug)))[0]!.id;
}

const costs = async (token: string, query = "") => call(costsRoute, { token, path: `/api/v1/costs${query}` });

beforeAll(async () => {
  [churnToken, fraudToken, adminToken] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud"), tokenFor(db(), DEMO.admin, "churn")]);
  const churnRun = await newRun(churnToken, "costs");
  const fraudRun = await newRun(fraudToken, "costs");
  const now = Date.now();
  const [churn, fraud] = [await teamId("churn"), await teamId("fraud")];
  const base = { userId: null, priority: 1, attempt: 1, backend: "local" };
  const made = await db().insert(jobs).values([
    // churn: an hour on cpu.large ($0.40/h), finished; and one running for 10 minutes so far.
    { ...base, teamId: churn, experimentId: Number(churnRun.exp), runId: churnRun.run, userEmail: DEMO.ds, name: "costs-finished", spec: spec("cpu.large"), cpu: 8, memoryGib: 32, hourlyPriceUsd: 0.4, status: "succeeded", startedAt: new Date(now - 2 * H), finishedAt: new Date(now - H), runSeconds: 3600 },
    { ...base, teamId: churn, experimentId: Number(churnRun.exp), runId: churnRun.run, userEmail: DEMO.ds, name: "costs-running", spec: spec(null), cpu: 2, memoryGib: 4, hourlyPriceUsd: 0.12, status: "running", startedAt: new Date(now - 10 * 60_000), runSeconds: 0 },
    // fraud: half an hour on gpu.small ($0.60/h).
    { ...base, teamId: fraud, experimentId: Number(fraudRun.exp), runId: fraudRun.run, userEmail: DEMO.dsFraud, name: "costs-fraud", spec: spec("gpu.small"), cpu: 8, memoryGib: 32, gpus: 1, gpuType: "T4", hourlyPriceUsd: 0.6, status: "failed", startedAt: new Date(now - 3 * H), finishedAt: new Date(now - 2.5 * H), runSeconds: 1800 },
  ]).returning({ id: jobs.id, name: jobs.name });
  for (const j of made) ids[j.name] = j.id;
  // churn: a deployment that served 2 replicas for the last hour (a record: the meter reads the database).
  const name = unique("costs-model");
  await createModel(churnToken, name);
  const [model] = await db().select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.name, name));
  const [d] = await db().insert(deployments).values({
    teamId: churn, modelId: model!.id, modelName: name, version: 1, environment: "staging", status: "ready", replicas: 2, autoScale: false, minReplicas: 2, maxReplicas: 2,
    createdByEmail: DEMO.ds, createdAt: new Date(now - H - 60_000), readyAt: new Date(now - H),
  }).returning({ id: deployments.id });
  ids.deployment = d!.id;
});

describe("the cost meter", () => {
  it("charges each job its runtime at its price, and each deployment its replicas for the time it served", async () => {
    expect(await meterCosts(db())).toBe(4);
    const rows = await db().select().from(costLedger);
    const of = (id: string) => rows.filter((r) => r.subjectId === id);
    expect(of(ids["costs-finished"]!)).toMatchObject([{ subjectKind: "job", resource: "cpu.large", quantityHours: 1, unitPriceUsd: 0.4, amountUsd: 0.4, userEmail: DEMO.ds }]);
    expect(of(ids["costs-fraud"]!)).toMatchObject([{ resource: "gpu.small", amountUsd: 0.3 }]);
    const running = of(ids["costs-running"]!)[0]!;
    expect(running.resource).toBe("custom: 2 CPU, 4 GiB");
    expect(running.quantityHours).toBeCloseTo(10 / 60, 2);
    const served = of(ids.deployment!)[0]!;
    expect(served).toMatchObject({ subjectKind: "deployment", resource: "replica as cpu.small", unitPriceUsd: 0.1 });
    expect(served.quantityHours).toBeCloseTo(2, 2); // 2 replicas × 1 h
  });

  it("never charges the same time twice: an immediate pass writes nothing, a later one only the time since", async () => {
    expect(await meterCosts(db())).toBe(0);
    const later = new Date(Date.now() + 5 * 60_000);
    expect(await meterCosts(db(), later)).toBe(2); // the running job and the live deployment
    const running = await db().select().from(costLedger).where(eq(costLedger.subjectId, ids["costs-running"]!)).orderBy(costLedger.periodStart);
    expect(running).toHaveLength(2);
    expect(running[1]!.periodStart.getTime()).toBe(running[0]!.periodEnd.getTime());
    expect(running.reduce((a, r) => a + r.quantityHours, 0)).toBeCloseTo(15 / 60, 2);
    const [{ hours }] = (await db().select({ hours: sql<number>`sum(${costLedger.quantityHours})::float8` }).from(costLedger).where(eq(costLedger.subjectId, ids["costs-finished"]!))) as [{ hours: number }];
    expect(hours).toBeCloseTo(1, 6);
  });

  it("stops charging a deployment at its stop", async () => {
    const stoppedAt = new Date(Date.now() + 6 * 60_000);
    await db().update(deployments).set({ status: "stopped", stoppedAt }).where(eq(deployments.id, ids.deployment!));
    await meterCosts(db(), new Date(Date.now() + 60 * 60_000));
    const rows = await db().select().from(costLedger).where(and(eq(costLedger.subjectKind, "deployment"), eq(costLedger.subjectId, ids.deployment!)));
    expect(Math.max(...rows.map((r) => r.periodEnd.getTime()))).toBe(stoppedAt.getTime());
    expect(rows.reduce((a, r) => a + r.quantityHours, 0)).toBeCloseTo(2 * (1 + 6 / 60), 2);
  });
});

describe("GET /api/v1/costs", () => {
  it("answers a team's own costs: totals, dense daily series that add up, and its budget", async () => {
    const res = await costs(churnToken, "?window=7d&aggregate=resource");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const c = res.json as Costs;
    expect(c).toMatchObject({ window: "7d", step: "1d", currency: "USD", aggregate: "resource" });
    expect(c.totals.map((t) => t.key).sort()).toEqual(["cpu.large", "custom: 2 CPU, 4 GiB", "replica as cpu.small"]);
    expect(c.totals.find((t) => t.key === "cpu.large")!.amount).toBe(0.4);
    for (const s of c.series) {
      expect(s.points).toHaveLength(7);
      expect(s.points.every(([t], i) => i === 0 || t - s.points[i - 1]![0] === 86_400)).toBe(true);
      expect(s.points.reduce((a, [, v]) => a + v, 0)).toBeCloseTo(c.totals.find((t) => t.key === s.key)!.amount, 2);
    }
    expect(c.budgets).toEqual([expect.objectContaining({ team: "churn", monthly_budget_usd: 5000 })]);
    expect(c.budgets[0]!.spent_this_month_usd).toBeGreaterThan(0);
  });

  it("shows another team nothing of churn's, and admins every team", async () => {
    const fraud = (await costs(fraudToken, "?aggregate=team")).json as Costs;
    expect(fraud.totals).toEqual([{ key: "fraud", amount: 0.3 }]);
    expect((await costs(fraudToken, "?team=churn")).status).toBe(404);
    const admin = (await costs(adminToken, "?aggregate=team&window=30d")).json as Costs;
    expect(admin.totals.map((t) => t.key).sort()).toEqual(["churn", "fraud"]);
    expect(admin.budgets.map((b) => b.team)).toEqual(["churn", "fraud", "vision"]);
    const byUser = (await costs(adminToken, "?aggregate=user")).json as Costs;
    expect(byUser.totals.map((t) => t.key).sort()).toEqual([DEMO.ds, DEMO.dsFraud].sort());
    const byDeployment = (await costs(churnToken, "?aggregate=deployment")).json as Costs;
    expect(byDeployment.totals.map((t) => t.key)).toEqual([ids.deployment]);
    // Shown by name, never by id: the deployment's model, version and environment; a run by its run name.
    expect(byDeployment.labels[ids.deployment!]).toMatch(/^costs-model-.* v1 \(staging\)$/);
    const byRun = (await costs(churnToken, "?aggregate=run")).json as Costs;
    for (const t of byRun.totals) expect(byRun.labels[t.key]).toEqual(expect.any(String));
    expect(Object.values(byRun.labels)).not.toContain(byRun.totals[0]!.key);
    expect((await costs(churnToken, "?aggregate=team")).json).toMatchObject({ labels: {} });
  });

  it("refuses what it cannot answer, saying how to fix it", async () => {
    for (const q of ["?window=0d", "?window=30", "?step=1m", "?aggregate=cluster", "?window=400d&step=1h"]) {
      const res = await costs(churnToken, q);
      expect(res.status, q).toBe(400);
    }
    expect(JSON.stringify((await costs(churnToken, "?window=400d&step=1h")).json)).toMatch(/longer step/);
  });
});
