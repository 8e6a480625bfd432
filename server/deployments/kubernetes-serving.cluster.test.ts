// Serving on a real Kubernetes control plane (`npm run test:cluster`): the deployment reconciler's pass against
// the local cluster's API server, Deployment and ReplicaSet controllers, scheduler and KWOK nodes. A deploy's
// objects are checked as the API server stored them (labels, owner references, the HPA's spec), KWOK marks the
// pods Ready and the deployment becomes ready, a scale and a stop change and delete the objects, an object no
// row asks for is deleted, and the namespace's ResourceQuota refusing the pods fails the deployment with the
// API server's own words.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { AppsV1Api, AutoscalingV2Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { and, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentEvents, deployments, teams } from "@/db/schema";
import { deployModelSchema } from "@/lib/schemas/deployments";
import { deployModel } from "@/server/approvals/deploy";
import { KubernetesServing } from "@/server/compute/k8s-serving";
import { buildServingDeployment, servingName } from "@/server/compute/k8s-serving-manifest";
import type { ServingSpec } from "@/server/compute/k8s-serving-manifest";
import { KubernetesReconcileState, reconcileKubernetes } from "@/server/deployments/kubernetes-reconcile";
import { scaleDeployment } from "@/server/deployments/scaling";
import { stopDeployment } from "@/server/deployments/service";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { until } from "@/server/testing/until";

const db = demoDatabase();
const stateDir = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");
const kc = new KubeConfig();
// Each run serves a team of its own (a namespace cairn-<slug>), deleted afterwards.
const team = `srv-${randomBytes(3).toString("hex")}`;
const namespace = `cairn-${team}`;
const opts = { image: "cairn/model-server:1", fetchImage: "curlimages/curl:8.11.1", cairnUrl: "http://cairn.cairn-system.svc:3000", cpu: 0.25, memoryGib: 0.25, signingKey: "cluster-test-signing-key-0123456789" };
let serving: KubernetesServing;
let core: CoreV1Api;
let apps: AppsV1Api;
let autoscaling: AutoscalingV2Api;
const state = new KubernetesReconcileState();
let token = "";


/** A staging deployment of a fresh ONNX version of team `team`, its row written as a Cairn on Kubernetes writes it. */
async function deployment(replicas: number): Promise<string> {
  const model = unique("srv");
  await createModel(token, model);
  const run = await newRun(token, "srv");
  await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, -1], bias: [0] })));
  await registerVersion(token, model, run);
  const answer = await deployModel(await ctxFor(db(), DEMO.ds), model, deployModelSchema.parse({ version: 1, environment: "staging", replicas, auto_scale: false }));
  if (!("deployment_id" in answer)) throw new Error("a staging deploy made an approval request");
  const id = answer.deployment_id;
  await db().update(deployments).set({ backend: "kubernetes" }).where(eq(deployments.id, id));
  return id;
}

const row = async (id: string) => (await db().select().from(deployments).where(eq(deployments.id, id)))[0]!;
const events = async (id: string) => (await db().select({ message: deploymentEvents.message }).from(deploymentEvents).where(eq(deploymentEvents.deploymentId, id)).orderBy(desc(deploymentEvents.id))).map((e) => e.message ?? "");
const gone = async (read: () => Promise<unknown>) => read().then(() => false, (err: { code?: number }) => err.code === 404);

beforeAll(async () => {
  kc.loadFromFile(path.join(stateDir, "kubeconfig"));
  serving = new KubernetesServing({ kubeConfig: kc, ...opts });
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  autoscaling = kc.makeApiClient(AutoscalingV2Api);
  // The demo's churn members serve for a team renamed for this run, so its namespace is new.
  await db().update(teams).set({ slug: team }).where(eq(teams.slug, "churn"));
  token = await tokenFor(db(), DEMO.ds, team);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe("serving on a real control plane", () => {
  let id = "";

  it("applies the Deployment, Service and token Secret as the row says, and the deployment becomes ready when KWOK's pods are", async () => {
    id = await deployment(2);
    const pass = await reconcileKubernetes(db(), serving, state);
    expect(pass.errors).toEqual([]);
    expect(pass.applied).toBe(1);
    const name = servingName(id);
    const d = await apps.readNamespacedDeployment({ namespace, name });
    expect(d.metadata!.labels).toMatchObject({ "app.kubernetes.io/managed-by": "cairn", "cairn.dev/deployment": id, "cairn.dev/team": team, "cairn.dev/component": "model-server" });
    expect(d.spec!.replicas).toBe(2);
    expect(d.spec!.template.spec!.initContainers![0]!.env).toEqual(expect.arrayContaining([{ name: "CAIRN_MODEL_SHA256", value: (await row(id)).modelSha256 }]));
    const svc = await core.readNamespacedService({ namespace, name });
    expect(svc.spec!.selector).toEqual({ "cairn.dev/component": "model-server", "cairn.dev/deployment": id });
    expect(svc.spec!.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const secret = await core.readNamespacedSecret({ namespace, name: `${name}-secrets` });
    expect(secret.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: "Deployment", name, uid: d.metadata!.uid })]);
    expect(Buffer.from(secret.data!.token!, "base64").toString()).toMatch(/^cdm_/);
    expect(Buffer.from(secret.data!["replica-secret"]!, "base64").toString().length).toBeGreaterThanOrEqual(32);
    expect(await gone(() => autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name }))).toBe(true);

    // The pods are scheduled on KWOK nodes and marked Ready; the controller counts them available.
    await until("the deployment to become ready", async () => {
      await reconcileKubernetes(db(), serving, state);
      return (await row(id)).status === "ready";
    }, 90);
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `cairn.dev/deployment=${id}` });
    expect(pods.items.filter((p) => p.status?.phase === "Running")).toHaveLength(2);
    expect(pods.items.every((p) => Boolean(p.spec?.nodeName))).toBe(true);
    expect(await events(id)).toContain("2 replicas of 2 available on Kubernetes");
    // A second pass with nothing changed writes nothing.
    const again = await reconcileKubernetes(db(), serving, state);
    expect(again.applied).toBe(0);
  });

  it("carries a scale to the Deployment and an autoscaling change to an HPA", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    await scaleDeployment(ctx, id, { replicas: 3 });
    await reconcileKubernetes(db(), serving, state);
    const name = servingName(id);
    expect((await apps.readNamespacedDeployment({ namespace, name })).spec!.replicas).toBe(3);
    await scaleDeployment(ctx, id, { auto_scale: true, min_replicas: 1, max_replicas: 3, target_concurrency: 6 });
    await reconcileKubernetes(db(), serving, state);
    const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name });
    expect(hpa.spec).toMatchObject({ minReplicas: 1, maxReplicas: 3, scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name } });
    expect(hpa.spec!.metrics![0]).toMatchObject({ type: "Pods", pods: { metric: { name: "cairn_model_requests_in_flight" }, target: { type: "AverageValue" } } });
    expect(String(hpa.spec!.metrics![0]!.pods!.target.averageValue)).toBe("6");
  });

  it("deletes a stopped deployment's objects, and a model Deployment no row asks for", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    await stopDeployment(ctx, id);
    const stray: ServingSpec = { deploymentId: "00000000-0000-4000-8000-00000000beef", team, modelName: "stray", version: 1, environment: "staging", replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, targetConcurrency: 4, modelSha256: "0".repeat(64) };
    await apps.createNamespacedDeployment({ namespace, body: buildServingDeployment(stray, opts, 1) });
    const pass = await reconcileKubernetes(db(), serving, state);
    expect(pass.removed).toBe(2);
    const name = servingName(id);
    expect(await gone(() => apps.readNamespacedDeployment({ namespace, name }))).toBe(true);
    expect(await gone(() => core.readNamespacedService({ namespace, name }))).toBe(true);
    expect(await gone(() => autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name }))).toBe(true);
    expect(await gone(() => apps.readNamespacedDeployment({ namespace, name: servingName(stray.deploymentId) }))).toBe(true);
  });

  it("shows the namespace's ResourceQuota refusing a deployment's pods, in the API server's words, once", async () => {
    await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name: "tight" }, spec: { hard: { pods: "0" } } } });
    const refused = await deployment(1);
    const said = await until("the quota refusal on the deployment", async () => {
      await reconcileKubernetes(db(), serving, state);
      return (await events(refused)).find((m) => /exceeded quota/.test(m));
    }, 90);
    expect(said).toMatch(/^Kubernetes cannot create this deployment's pods yet .*exceeded quota: tight/);
    // Still deploying (the controller keeps trying), and the refusal is one event however many passes see it.
    await reconcileKubernetes(db(), serving, state);
    expect((await row(refused)).status).toBe("deploying");
    expect((await events(refused)).filter((m) => /exceeded quota/.test(m))).toHaveLength(1);
    await db().update(deployments).set({ status: "stopped" }).where(and(eq(deployments.id, refused)));
  });
});
