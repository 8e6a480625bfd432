// Hostile review (review-s): the per-team replica quota (team_quotas.max_replicas) against deployments, on
// Kubernetes too — the HPA held at what the quota leaves, races that must not overshoot, a production scale-up
// that must not override a lead's decision made meanwhile.
import { and, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LIVE_DEPLOYMENT_STATUSES, deployments, teamQuotas, teams } from "@/db/schema";
import { deployModelSchema } from "@/lib/schemas/deployments";
import { deployModel } from "@/server/approvals/deploy";
import type { KubernetesServing, ServingObservation } from "@/server/compute/k8s-serving";
import { buildServingHpa } from "@/server/compute/k8s-serving-manifest";
import type { ServingSpec } from "@/server/compute/k8s-serving-manifest";
import { KubernetesReconcileState, reconcileKubernetes } from "@/server/deployments/kubernetes-reconcile";
import { scaleDeployment } from "@/server/deployments/scaling";
import { stopAllReplicas } from "@/server/deployments/runtime";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";

const db = demoDatabase();
let token = "";
let teamId = "";
let quota = 0;

async function liveReplicas(): Promise<number> {
  const [r] = await db()
    .select({ n: sql<number>`coalesce(sum(${deployments.replicas}), 0)::int` })
    .from(deployments)
    .where(and(eq(deployments.teamId, teamId), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])));
  return Number(r!.n);
}

/** An autoscaled staging deployment (1 replica, bounds 1–20) of team churn, its row as a Cairn on Kubernetes writes it. */
async function autoscaledOnKubernetes(): Promise<string> {
  const model = unique("quota-k8s");
  await createModel(token, model);
  const run = await newRun(token, "quota-k8s");
  await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, -1], bias: [0] })));
  await registerVersion(token, model, run);
  const answer = await deployModel(await ctxFor(db(), DEMO.ds), model, deployModelSchema.parse({ version: 1, environment: "staging", replicas: 1, auto_scale: true, min_replicas: 1, max_replicas: 20 }));
  if (!("deployment_id" in answer)) throw new Error("a staging deploy made an approval request");
  await db().update(deployments).set({ backend: "kubernetes" }).where(eq(deployments.id, answer.deployment_id));
  return answer.deployment_id;
}

beforeAll(async () => {
  token = await tokenFor(db(), DEMO.ds, "churn");
  const [t] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  teamId = t!.id;
});

// Room to deploy; each test then shrinks the quota to what the team runs.
beforeEach(async () => {
  if (teamId) await db().update(teamQuotas).set({ maxReplicas: 1000 }).where(eq(teamQuotas.teamId, teamId));
});

afterAll(async () => {
  await stopAllReplicas();
});

/**
 * A cluster whose HPA has scaled every autoscaled deployment to the maxReplicas it was given (what a load burst
 * does); it records the spec each pass applied.
 */
function burstCluster(): { serving: KubernetesServing; applied: ServingSpec[] } {
  const applied: ServingSpec[] = [];
  const observe = async (spec: ServingSpec): Promise<ServingObservation> => {
    const last = applied.filter((a) => a.deploymentId === spec.deploymentId).at(-1);
    const n = spec.autoScale ? (last?.maxReplicas ?? spec.replicas) : spec.replicas;
    return { missing: false, observed: true, desired: n, updated: n, available: n, ready: n, failure: null, blocked: null, hpa: spec.autoScale ? { current: n, desired: n, conditions: [] } : null };
  };
  const apply = async (spec: ServingSpec) => {
    applied.push(spec);
    return "unchanged";
  };
  return { serving: { apply, observe, servedIds: async () => [], remove: async () => undefined } as unknown as KubernetesServing, applied };
}

describe("on Kubernetes the HorizontalPodAutoscaler stays within the team's max_replicas (review-s finding 1)", () => {
  it("the HPA's maxReplicas is what the team's quota leaves, not the deploy's max_replicas (20)", async () => {
    const id = await autoscaledOnKubernetes();
    // The team may run only what it runs now: no room left for this deployment to grow.
    quota = await liveReplicas();
    await db().update(teamQuotas).set({ maxReplicas: quota }).where(eq(teamQuotas.teamId, teamId));
    const cluster = burstCluster();
    await reconcileKubernetes(db(), cluster.serving, new KubernetesReconcileState());
    const spec = cluster.applied.find((a) => a.deploymentId === id)!;
    expect(buildServingHpa(spec).spec!.maxReplicas).toBe(1);
    // With room for 3 more, the HPA may grow it to 4; the deploy's own bound still applies when it is lower.
    await db().update(teamQuotas).set({ maxReplicas: quota + 3 }).where(eq(teamQuotas.teamId, teamId));
    const more = burstCluster();
    await reconcileKubernetes(db(), more.serving, new KubernetesReconcileState());
    expect(more.applied.find((a) => a.deploymentId === id)!.maxReplicas).toBe(4);
  });

  it("a burst to the HPA's maximum never takes the team past max_replicas", async () => {
    await autoscaledOnKubernetes();
    quota = (await liveReplicas()) + 2;
    await db().update(teamQuotas).set({ maxReplicas: quota }).where(eq(teamQuotas.teamId, teamId));
    const cluster = burstCluster();
    // Two passes: the first applies the capped HPA, the second sees the HPA at that maximum and records it.
    await reconcileKubernetes(db(), cluster.serving, new KubernetesReconcileState());
    await reconcileKubernetes(db(), cluster.serving, new KubernetesReconcileState());
    expect(await liveReplicas(), `team churn's live replicas against its max_replicas ${quota}`).toBeLessThanOrEqual(quota);
  });

  it("raising max_replicas past the quota is accepted, and the HPA is still held at the quota's room", async () => {
    const id = await autoscaledOnKubernetes();
    await db().update(deployments).set({ maxReplicas: 1 }).where(eq(deployments.id, id));
    quota = await liveReplicas();
    await db().update(teamQuotas).set({ maxReplicas: quota }).where(eq(teamQuotas.teamId, teamId));
    const ctx = await ctxFor(db(), DEMO.ds);
    const d = await scaleDeployment(ctx, id, { max_replicas: 20 });
    expect(d.max_replicas).toBe(20);
    const cluster = burstCluster();
    await reconcileKubernetes(db(), cluster.serving, new KubernetesReconcileState());
    expect(cluster.applied.find((a) => a.deploymentId === id)!.maxReplicas).toBe(1);
  });

  it("the HPA's count does not overwrite a PATCH committed meanwhile", async () => {
    const id = await autoscaledOnKubernetes();
    const cluster = burstCluster();
    // The pass reads the row (1 replica, autoscaled), then a member fixes the size at 2 before the pass writes.
    const serving = cluster.serving as unknown as { observe: (s: ServingSpec) => Promise<ServingObservation> };
    const observe = serving.observe;
    serving.observe = async (spec) => {
      if (spec.deploymentId === id) await db().update(deployments).set({ autoScale: false, replicas: 2, minReplicas: 2, maxReplicas: 2 }).where(eq(deployments.id, id));
      return observe({ ...spec, maxReplicas: 5 });
    };
    await reconcileKubernetes(db(), cluster.serving, new KubernetesReconcileState());
    const [row] = await db().select({ replicas: deployments.replicas, autoScale: deployments.autoScale }).from(deployments).where(eq(deployments.id, id));
    expect(row).toEqual({ replicas: 2, autoScale: false });
  });
});

/** A staging model of churn with one registered ONNX version, ready to deploy. */
async function readyModel(): Promise<string> {
  const model = unique("quota-race");
  await createModel(token, model);
  const run = await newRun(token, "quota-race");
  await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, -1], bias: [0] })));
  await registerVersion(token, model, run);
  return model;
}

describe("racing past max_replicas (the attack held)", () => {
  it("six parallel deploys of 2 replicas with room for 4: exactly two land, the team stays at its quota", async () => {
    const models = await Promise.all(Array.from({ length: 6 }, () => readyModel()));
    quota = (await liveReplicas()) + 4;
    await db().update(teamQuotas).set({ maxReplicas: quota }).where(eq(teamQuotas.teamId, teamId));
    const ctxs = await Promise.all(models.map(() => ctxFor(db(), DEMO.ds)));
    const outcomes = await Promise.allSettled(models.map((m, i) => deployModel(ctxs[i]!, m, deployModelSchema.parse({ version: 1, environment: "staging", replicas: 2, auto_scale: false }))));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(2);
    for (const o of outcomes) if (o.status === "rejected") expect(String((o.reason as Error).message)).toMatch(/max_replicas/);
    expect(await liveReplicas()).toBeLessThanOrEqual(quota);
  });

  it("parallel PATCH scale-ups of two deployments with room for 3 more: the team stays at its quota", async () => {
    const [a, b] = await Promise.all([readyModel(), readyModel()]);
    const ctx = await ctxFor(db(), DEMO.ds);
    const ids = [];
    for (const m of [a!, b!]) {
      const answer = await deployModel(ctx, m, deployModelSchema.parse({ version: 1, environment: "staging", replicas: 1, auto_scale: false }));
      ids.push((answer as { deployment_id: string }).deployment_id);
    }
    quota = (await liveReplicas()) + 3;
    await db().update(teamQuotas).set({ maxReplicas: quota }).where(eq(teamQuotas.teamId, teamId));
    const ctxs = await Promise.all([0, 1, 2, 3].map(() => ctxFor(db(), DEMO.ds)));
    await Promise.allSettled([ids[0], ids[1], ids[0], ids[1]].map((id, i) => scaleDeployment(ctxs[i]!, id!, { replicas: 3 })));
    expect(await liveReplicas()).toBeLessThanOrEqual(quota);
  });
});

describe.skipIf(process.env.CAIRN_TEST_DB !== "postgres")("PATCH decides 'past what was approved' on the row it locks (review-s finding 3)", () => {
  it("an ML engineer's scale-up racing a lead's lowering of production is refused; production stays at the lead's 3", async () => {
    const model = await readyModel();
    const answer = await deployModel(await ctxFor(db(), DEMO.ds), model, deployModelSchema.parse({ version: 1, environment: "staging", replicas: 1, auto_scale: false }));
    const id = (answer as { deployment_id: string }).deployment_id;
    // Production, approved at 10 fixed replicas.
    await db().update(deployments).set({ environment: "production", replicas: 10, minReplicas: 10, maxReplicas: 10, autoScale: false, status: "ready" }).where(eq(deployments.id, id));
    const mle = await ctxFor(db(), DEMO.mle);
    // Sanity: the ML engineer alone cannot go past what was approved.
    await expect(scaleDeployment(mle, id, { replicas: 11 })).rejects.toMatchObject({ code: "forbidden" });
    // A team lead lowers production to 3 (their PATCH holds the row between its update and its commit)...
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const lead = db().transaction(async (tx) => {
      await tx.update(deployments).set({ replicas: 3, minReplicas: 3, maxReplicas: 3 }).where(eq(deployments.id, id));
      await gate;
    });
    await new Promise((r) => setTimeout(r, 200));
    // ...while the ML engineer asks for 10: checked against the committed 10, then waits for the row.
    const raced = scaleDeployment(mle, id, { replicas: 10 }).then(() => "accepted", (err: Error) => `refused: ${err.message}`);
    await new Promise((r) => setTimeout(r, 500));
    release();
    await lead;
    const outcome = await raced;
    const [row] = await db().select({ replicas: deployments.replicas }).from(deployments).where(eq(deployments.id, id));
    // After the lead's decision, 3 is what production is approved at; the ML engineer may not raise it.
    expect({ outcome, replicas: row!.replicas }).toEqual({ outcome: expect.stringMatching(/^refused/), replicas: 3 });
  });
});
