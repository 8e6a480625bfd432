// The autoscaler against a real deployment on the local backend: a registered ONNX version deployed to
// staging, clients holding requests in flight through the inference gateway, the replica count going up
// within 5 s and back down after a short window, no request failing on the way, the reasons in the
// deployment's events; a scale request carried out by the loop; another team refused; the team's replica
// quota (max_replicas) holding the autoscaler, a scale request and a deploy.
import { and, eq, inArray, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIVE_DEPLOYMENT_STATUSES, auditEvents, deploymentEvents, deployments, teamQuotas, teams } from "@/db/schema";
import type { DeploymentRuntime } from "../deployments/runtime";
import { deploymentRuntime, stopAllReplicas } from "../deployments/runtime";
import { answerResponse, fromRequest, serveInference } from "../deployments/gateway";
import { scaleDeployment } from "../deployments/scaling";
import { deployModel } from "../approvals/deploy";
import { getDeploymentDetail } from "../deployments/service";
import { linearClassifierOnnx } from "../registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "../registry/test-helpers";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { Autoscaler } from "./autoscaler";
import { settleDeployments } from "./testing";
import { flushDenials } from "../audit/denials";

const db = demoDatabase();
let token = "";
let model = "";
const scalers: Autoscaler[] = [];

// A few thousand rows a request: a few milliseconds in the replica, so requests overlap.
const ROWS = 2000;
const BODY = JSON.stringify({ inputs: Array.from({ length: ROWS }, (_, i) => [i % 7, 1, -1, (i % 3) / 2]) });

beforeAll(async () => {
  token = await tokenFor(db(), DEMO.ds, "churn");
  const run = await newRun(token, "autoscale");
  await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights: [0.5, -1, 2, 0.25], bias: [0.1] })));
  model = unique("autoscale");
  await createModel(token, model);
  await registerVersion(token, model, run);
});

afterAll(async () => {
  await Promise.all(scalers.map((s) => s.stop()));
  await stopAllReplicas();
});

function scaler(opts: { intervalMs: number; downWindowMs: number }): Autoscaler {
  const s = new Autoscaler({ db: db(), runtime: deploymentRuntime(), ...opts });
  scalers.push(s);
  return s;
}

async function deploy(spec: { replicas: number; min_replicas?: number; max_replicas?: number; target_concurrency?: number; auto_scale: boolean }): Promise<string> {
  const ctx = await ctxFor(db(), DEMO.ds);
  const { deployment_id: id } = await deployModel(ctx, model, { version: 1, environment: "staging", traffic: 100, ...spec });
  await settleDeployments(db());
  const [row] = await db().select({ status: deployments.status }).from(deployments).where(eq(deployments.id, id));
  expect(row?.status).toBe("ready");
  return id;
}

async function infer(id: string): Promise<number> {
  const req = new Request(`http://localhost/serve/churn/${id}/invocations`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: BODY });
  const res = answerResponse(await serveInference(db(), fromRequest(req), { team: "churn", deployment: id, path: ["invocations"] }));
  await res.arrayBuffer();
  return res.status;
}

const recorded = async (id: string) => (await db().select({ replicas: deployments.replicas }).from(deployments).where(eq(deployments.id, id)))[0]!.replicas;

async function waitFor(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

describe("autoscaling a local deployment", () => {
  it("scales up within 5 s under load and back down after the window, with no failed request and the reasons on the deployment", async () => {
    const id = await deploy({ replicas: 1, auto_scale: true, min_replicas: 1, max_replicas: 3, target_concurrency: 2 });
    const runtime = deploymentRuntime();
    const auto = scaler({ intervalMs: 250, downWindowMs: 1500 });
    auto.start();

    const statuses: number[] = [];
    const client = async (isDone: () => boolean) => {
      while (!isDone()) statuses.push(await infer(id));
    };
    let isHeavyDone = false;
    let isLightDone = false;
    const started = Date.now();
    const heavy = Array.from({ length: 8 }, () => client(() => isHeavyDone));
    const light = client(() => isLightDone);
    try {
      const scaledUpIn = await waitFor("the autoscaler recorded more replicas", 5_000, async () => (await recorded(id)) > 1);
      expect(scaledUpIn).toBeLessThanOrEqual(5_000);
      // The new replicas serve (and take requests) soon after: they start in about a second.
      await waitFor("a second replica served", 15_000, () => (runtime.readyReplicas(id) ?? 0) > 1);
      const peak = await recorded(id);
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(3);
      console.log(`[autoscale test] ${peak} replicas recorded ${scaledUpIn} ms after the load began; ${Date.now() - started} ms to serve`);

      // Load drops to one client: after the 1.5 s window the deployment goes back to one replica, while requests continue.
      isHeavyDone = true;
      await Promise.all(heavy);
      await waitFor("back to one replica", 15_000, async () => (await recorded(id)) === 1 && runtime.readyReplicas(id) === 1 && runtime.load(id)?.desired === 1);
      await auto.settled();
    } finally {
      isHeavyDone = isLightDone = true;
      await Promise.all([...heavy, light]);
    }

    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    const events = (await db().select({ message: deploymentEvents.message }).from(deploymentEvents).where(and(eq(deploymentEvents.deploymentId, id), like(deploymentEvents.message, "scaled %")))).map((e) => e.message!);
    expect(events[0]).toMatch(/^scaled 1 → [23]: [\d.]+ requests in flight per replica, target 2(; \d+ wanted, held at 3 by max_replicas \(3\))?$/);
    expect(events.at(-1)).toMatch(/^scaled [23] → 1: [\d.]+ requests in flight per replica, target 2, below it for [\d.]+ s$/);
    // The deployment page reads the same events and the recorded count.
    const detail = await getDeploymentDetail(await ctxFor(db(), DEMO.ds), id);
    expect(detail).toMatchObject({ replicas: 1, target_concurrency: 2, auto_scale: true, min_replicas: 1, max_replicas: 3 });
    expect(detail.scaled_at).not.toBeNull();
    expect(detail.events.map((e) => e.message)).toContain(events[0]);
    await auto.stop();
  });

  it("carries out a scale request and refuses another team, bad bounds and a host over its cap", async () => {
    const id = await deploy({ replicas: 1, auto_scale: false });
    const auto = scaler({ intervalMs: 200, downWindowMs: 60_000 });
    const lead = await ctxFor(db(), DEMO.leadFraud);
    await expect(scaleDeployment(lead, id, { max_replicas: 1 })).rejects.toMatchObject({ code: "not_found" });
    await expect(scaleDeployment(await ctxFor(db(), DEMO.dsFraud), id, { replicas: 2 })).rejects.toMatchObject({ code: "not_found" });
    await flushDenials(db());
    const denied = await db().select().from(auditEvents).where(and(eq(auditEvents.target, `deployment:${id}`), eq(auditEvents.outcome, "denied")));
    expect(denied.length).toBeGreaterThanOrEqual(2);

    const ds = await ctxFor(db(), DEMO.ds);
    await expect(scaleDeployment(ds, id, { auto_scale: true, min_replicas: 3, max_replicas: 2 })).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("min_replicas (3) is more than max_replicas (2)") });
    await expect(scaleDeployment(ds, id, { replicas: 2, min_replicas: 1 })).rejects.toMatchObject({ code: "invalid_input" });
    const [unchanged] = await db().select().from(deployments).where(eq(deployments.id, id));
    expect(unchanged).toMatchObject({ replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, targetConcurrency: 4 });

    const scaled = await scaleDeployment(ds, id, { replicas: 2 });
    expect(scaled).toMatchObject({ replicas: 2, auto_scale: false, min_replicas: 2, max_replicas: 2 });
    await auto.tick();
    await auto.settled();
    expect(deploymentRuntime().readyReplicas(id)).toBe(2);
    await flushDenials(db());
    const [audit] = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "deployment.scale"), eq(auditEvents.target, `deployment:churn/${id}`)));
    expect(audit?.details).toMatchObject({ replicas: 2, from_replicas: 1, auto_scale: false });

    // Autoscaling on, with bounds: idle, it stays at 2 until the (long) window passes.
    expect(await scaleDeployment(ds, id, { auto_scale: true, min_replicas: 1, max_replicas: 3, target_concurrency: 8 })).toMatchObject({ replicas: 2, auto_scale: true, min_replicas: 1, max_replicas: 3, target_concurrency: 8 });
    await auto.tick();
    await auto.tick();
    expect(await recorded(id)).toBe(2);
    await auto.stop();

    // The host's cap (CAIRN_LOCAL_REPLICAS_MAX, 32 by default) counts every team's live local replicas: here another team's.
    const [self] = await db().select().from(deployments).where(eq(deployments.id, id));
    const [fraud] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "fraud"));
    const { id: _id, ...rest } = self!;
    const [filler] = await db().insert(deployments).values({ ...rest, teamId: fraud!.id, replicas: 29, status: "ready" }).returning({ id: deployments.id });
    try {
      await expect(scaleDeployment(ds, id, { replicas: 3 })).rejects.toMatchObject({ code: "quota_exceeded", message: expect.stringContaining("CAIRN_LOCAL_REPLICAS_MAX") });
      await expect(scaleDeployment(ds, id, { replicas: 3, max_replicas: 4 })).rejects.toMatchObject({ code: "quota_exceeded", message: expect.stringContaining("CAIRN_LOCAL_REPLICAS_MAX") });
    } finally {
      await db().delete(deployments).where(eq(deployments.id, filler!.id));
    }
    expect(await recorded(id)).toBe(2);
  });

  it("stays under the team's replica quota: held at it with the quota named, a scale request and a deploy past it refused, another team still deploys", async () => {
    const id = await deploy({ replicas: 1, auto_scale: true, min_replicas: 1, max_replicas: 10, target_concurrency: 2 });
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const churnReplicas = async () => (await db().select({ replicas: deployments.replicas }).from(deployments).where(and(eq(deployments.teamId, churn!.id), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))).reduce((n, d) => n + d.replicas, 0);
    // Room for one more replica in the team: the load below wants ten.
    const quota = (await churnReplicas()) + 1;
    await db().update(teamQuotas).set({ maxReplicas: quota }).where(eq(teamQuotas.teamId, churn!.id));
    // 20 requests in flight at target 2 (ten replicas' worth), as the gateway would count them.
    const real = deploymentRuntime();
    const busy: DeploymentRuntime = { ...real, load: (d) => { const l = real.load(d); return l && d === id ? { ...l, inflight: 20, inflightMs: 20 * Date.now(), at: Date.now() } : l; } };
    const auto = new Autoscaler({ db: db(), runtime: busy, intervalMs: 60_000, downWindowMs: 60_000 });
    scalers.push(auto);
    const ds = await ctxFor(db(), DEMO.ds);
    try {
      expect(await auto.tick()).toEqual([{ deploymentId: id, from: 1, to: 2, reason: expect.stringContaining(`10 wanted, held at 2 by team quota max_replicas (churn runs ${quota - 1} of ${quota})`) }]);
      await auto.settled();
      expect(real.readyReplicas(id)).toBe(2);
      // At the quota: the next ticks leave it there.
      expect(await auto.tick()).toEqual([]);
      expect(await auto.tick()).toEqual([]);
      expect(await recorded(id)).toBe(2);
      expect(await churnReplicas()).toBe(quota);
      const events = (await getDeploymentDetail(ds, id)).events.map((e) => e.message);
      expect(events.filter((m) => m?.startsWith("scaled "))).toEqual([expect.stringMatching(/^scaled 1 → 2: [\d.]+ requests in flight per replica, target 2; 10 wanted, held at 2 by team quota max_replicas \(churn runs \d+ of \d+\)$/)]);

      // A scale request past it, and a deploy, are refused with what to do; nothing changes.
      await expect(scaleDeployment(ds, id, { replicas: 3 })).rejects.toMatchObject({ code: "quota_exceeded", message: `Team churn runs ${quota} of its ${quota} replicas (max_replicas); 1 more do not fit. Ask for at most 2, stop a deployment, or ask an admin to raise max_replicas.` });
      await expect(deployModel(ds, model, { version: 1, environment: "staging", traffic: 100, replicas: 1, auto_scale: false })).rejects.toMatchObject({
        code: "quota_exceeded", message: `Team churn runs ${quota} of its ${quota} replicas (max_replicas); 1 more do not fit. Deploy with fewer replicas, stop a deployment, or ask an admin to raise max_replicas.`,
      });
      expect(await churnReplicas()).toBe(quota);
      // Another team's actor is refused as before: the deployment is not found.
      await expect(scaleDeployment(await ctxFor(db(), DEMO.leadFraud), id, { replicas: 1 })).rejects.toMatchObject({ code: "not_found" });
      // Fewer is always allowed.
      expect(await scaleDeployment(ds, id, { replicas: 1 })).toMatchObject({ replicas: 1 });

      // Another team is not held by churn's quota: fraud deploys.
      const fraudToken = await tokenFor(db(), DEMO.dsFraud, "fraud");
      const run = await newRun(fraudToken, "fraud-serving");
      await putRunFile(fraudToken, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights: [1, 1, 1, 1], bias: [0] })));
      const fraudModel = unique("fraud-autoscale");
      await createModel(fraudToken, fraudModel);
      await registerVersion(fraudToken, fraudModel, run);
      const fraudDeploy = await deployModel(await ctxFor(db(), DEMO.dsFraud), fraudModel, { version: 1, environment: "staging", traffic: 100, replicas: 2, auto_scale: false });
      expect(fraudDeploy.status).toBe("deploying");
    } finally {
      await auto.stop();
      await db().update(teamQuotas).set({ maxReplicas: 20 }).where(eq(teamQuotas.teamId, churn!.id));
    }
  });
});
