// The portal's view of the cluster, read from a real control plane (`npm run test:cluster`): the nodes with their
// GPU types and what the pods on them request, a team's ResourceQuota as the API server counts it, a job's pods
// and the events about them, a deployment's pods and rollout — and a member of another team sees none of it.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployments, teams } from "@/db/schema";
import { deployModelSchema } from "@/lib/schemas/deployments";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { deployModel } from "@/server/approvals/deploy";
import { KubernetesServing } from "@/server/compute/k8s-serving";
import { LABELS, MANAGED_BY } from "@/server/compute/k8s-manifest";
import { KubernetesReconcileState, reconcileKubernetes } from "@/server/deployments/kubernetes-reconcile";
import { submitJob } from "@/server/jobs/service";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { createExperiment } from "@/server/tracking/experiments";
import { clusterOverview, deploymentKubernetes, jobKubernetes } from "./cluster-view";
import { until } from "@/server/testing/until";

const stateDir = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");
// This Cairn runs on the cluster: env() is read lazily, so these hold for every call below.
process.env.CAIRN_COMPUTE_BACKEND = "kubernetes";
process.env.KUBECONFIG = path.join(stateDir, "kubeconfig");

const db = demoDatabase();
const team = `view-${randomBytes(3).toString("hex")}`;
const namespace = `cairn-${team}`;
const kc = new KubeConfig();
let core: CoreV1Api;


beforeAll(async () => {
  kc.loadFromFile(process.env.KUBECONFIG!);
  core = kc.makeApiClient(CoreV1Api);
  await db().update(teams).set({ slug: team }).where(eq(teams.slug, "churn"));
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedResourceQuota({
    namespace,
    body: { metadata: { name: "cairn-quota", labels: { [MANAGED_BY]: "cairn" } }, spec: { hard: { "requests.cpu": "4", "requests.memory": "8Gi", "requests.nvidia.com/gpu": "2", pods: "10" } } },
  });
});

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe("the cluster view", () => {
  it("shows admins the nodes with their GPU types and each team's quota as the API server counts it", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    // A pod that requests something, so the node it lands on and the quota both count it.
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "counted" },
        spec: { containers: [{ name: "main", image: "busybox", resources: { requests: { cpu: "1500m", memory: "1Gi" }, limits: { cpu: "1500m", memory: "1Gi" } } }] },
      },
    });
    const node = await until("the pod to be scheduled", async () => (await core.readNamespacedPod({ namespace, name: "counted" })).spec?.nodeName);
    const view = await until("the quota controller to count the pod", async () => {
      const v = await clusterOverview(admin);
      return v.backend === "kubernetes" && v.quotas.find((q) => q.namespace === namespace)?.used.cpu === 1.5 ? v : null;
    });
    if (view.backend !== "kubernetes") throw new Error("not on kubernetes");
    expect(view.error).toBeNull();
    expect(view.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const gpuTypes = new Set(view.nodes.map((n) => n.gpu_type).filter(Boolean));
    expect(gpuTypes.size).toBeGreaterThanOrEqual(2);
    for (const n of view.nodes.filter((x) => x.gpu_type)) expect(n.allocatable.gpus).toBeGreaterThan(0);
    expect(view.nodes.every((n) => n.ready)).toBe(true);
    const host = view.nodes.find((n) => n.name === node)!;
    expect(host.requested.cpu).toBeGreaterThanOrEqual(1.5);
    expect(host.allocatable.cpu).toBeGreaterThan(host.requested.cpu);
    expect(view.quotas.find((q) => q.namespace === namespace)).toEqual({
      team, namespace, hard: { cpu: 4, memory_gib: 8, gpus: 2, pods: 10 }, used: { cpu: 1.5, memory_gib: 1, gpus: 0, pods: 1 },
    });
    await expect(clusterOverview(await ctxFor(db(), DEMO.lead))).rejects.toMatchObject({ code: "forbidden" });
  });

  it("shows a job's members its pods and the events about them, and another team nothing", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = (await createExperiment(ctx, { name: `view-${Date.now()}`, team })).experiment_id;
    const job = await submitJob(ctx, exp, trainJobSchema.parse({ command: ["true"], instance_type: "cpu.small", max_runtime_seconds: 60 }));
    // The pod the job's attempt would run as (the executor's labels), scheduled by the real scheduler.
    await core.createNamespacedPod({
      namespace,
      body: { metadata: { name: "job-pod", labels: { [MANAGED_BY]: "cairn", [LABELS.job]: job.job_id } }, spec: { containers: [{ name: "main", image: "busybox", resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "100m", memory: "64Mi" } } }] } },
    });
    const view = await until("the pod and its Scheduled event", async () => {
      const v = await jobKubernetes(ctx, job.job_id);
      return v.backend === "kubernetes" && v.pods[0]?.node && v.events.some((e) => e.reason === "Scheduled") ? v : null;
    });
    if (view.backend !== "kubernetes") throw new Error("not on kubernetes");
    expect(view.namespace).toBe(namespace);
    expect(view.pods).toEqual([expect.objectContaining({ name: "job-pod", node: expect.any(String) })]);
    expect(view.events.find((e) => e.reason === "Scheduled")).toMatchObject({ object: "Pod/job-pod", type: "Normal" });
    await expect(jobKubernetes(await ctxFor(db(), DEMO.dsFraud), job.job_id)).rejects.toMatchObject({ code: "not_found" });
  });

  it("shows a deployment's pods and rollout once KWOK's pods serve", async () => {
    const token = await tokenFor(db(), DEMO.ds, team);
    const model = unique("view");
    await createModel(token, model);
    const run = await newRun(token, "view");
    await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, 1], bias: [0] })));
    await registerVersion(token, model, run);
    const ctx = await ctxFor(db(), DEMO.ds);
    const answer = await deployModel(ctx, model, deployModelSchema.parse({ version: 1, environment: "staging", replicas: 1, auto_scale: false }));
    if (!("deployment_id" in answer)) throw new Error("a staging deploy made an approval request");
    const id = answer.deployment_id;
    expect((await db().select({ backend: deployments.backend }).from(deployments).where(eq(deployments.id, id)))[0]!.backend).toBe("kubernetes");
    const serving = new KubernetesServing({ kubeConfig: kc, image: "cairn/model-server:1", fetchImage: "curlimages/curl:8.11.1", cairnUrl: "http://cairn:3000", cpu: 0.25, memoryGib: 0.25, signingKey: "view-test-key-0123456789abcdef" });
    const state = new KubernetesReconcileState();
    const view = await until("the deployment's pod to be available", async () => {
      await reconcileKubernetes(db(), serving, state);
      const v = await deploymentKubernetes(ctx, id);
      return v.backend === "kubernetes" && v.rollout?.available === 1 && v.pods[0]?.ready ? v : null;
    });
    if (view.backend !== "kubernetes") throw new Error("not on kubernetes");
    expect(view.rollout).toMatchObject({ desired: 1, updated: 1, available: 1, failure: null, hpa: null });
    expect(view.pods).toHaveLength(1);
    expect(view.events.some((e) => e.reason === "ScalingReplicaSet")).toBe(true);
    await expect(deploymentKubernetes(await ctxFor(db(), DEMO.dsFraud), id)).rejects.toMatchObject({ code: "not_found" });
  });
});
