// The local cluster is real (`npm run test:cluster`, which starts it first when it does not run): the API
// server's own quota admission and LimitRange defaulting, the Job controller and KWOK's stages taking a Job to
// Succeeded or Failed, the scheduler honouring a GPU type's nodeSelector and GPU capacity, and the Deployment
// controller reaching its available replicas, and Kueue admitting queued Jobs by its ClusterQueue's quota. Each
// test works in a namespace of its own, deleted afterwards.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiException, AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import type { V1Pod, V1PodSpec } from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const stateDir = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");
const kubeconfig = path.join(stateDir, "kubeconfig");

let core: CoreV1Api;
let apps: AppsV1Api;
let batch: BatchV1Api;
let custom: CustomObjectsApi;
const namespaces: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  if (!existsSync(kubeconfig)) throw new Error(`no kubeconfig at ${kubeconfig}: start the cluster with \`npm run cluster\``);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  for (const name of namespaces.splice(0)) {
    await core.deleteNamespace({ name }).catch(() => undefined);
  }
});

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${seconds}s waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** A fresh namespace, once the service-account controller has given it its default service account. */
async function namespace(): Promise<string> {
  const name = `smoke-${randomBytes(4).toString("hex")}`;
  await core.createNamespace({ body: { metadata: { name, labels: { "cairn.dev/smoke": "true" } } } });
  namespaces.push(name);
  await until(`the default service account in ${name}`, () => core.readNamespacedServiceAccount({ name: "default", namespace: name }));
  return name;
}

const container = (resources?: Record<string, Record<string, string>>) => ({ name: "main", image: "registry.invalid/cairn/smoke:1", resources });
const pod = (name: string, spec: Partial<V1PodSpec> = {}, annotations?: Record<string, string>): V1Pod => ({
  metadata: { name, annotations },
  spec: { containers: [container()], restartPolicy: "Never", ...spec },
});

async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiException) {
      const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
      return { code: e.code, message: String(body?.message ?? e.message) };
    }
    throw e;
  }
  throw new Error("the API server accepted what it should have refused");
}

describe("local cluster", () => {
  it("refuses an over-quota pod with the API server's own quota admission", async () => {
    const ns = await namespace();
    await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: "team-quota" }, spec: { hard: { "requests.cpu": "2", "requests.memory": "4Gi", pods: "5" } } } });
    // Admission knows a quota's usage once the quota controller has filled its status.
    await until("the quota controller's status", async () => (await core.readNamespacedResourceQuota({ name: "team-quota", namespace: ns })).status?.hard?.pods);

    const fits = await core.createNamespacedPod({ namespace: ns, body: pod("fits", { containers: [container({ requests: { cpu: "1500m", memory: "1Gi" } })] }) });
    expect(fits.metadata?.name).toBe("fits");

    const over = await refusal(core.createNamespacedPod({ namespace: ns, body: pod("over", { containers: [container({ requests: { cpu: "1", memory: "1Gi" } })] }) }));
    expect(over.code).toBe(403);
    expect(over.message).toContain("exceeded quota: team-quota");
    expect(over.message).toContain("requests.cpu=1");

    const used = await until("the quota's usage", async () => {
      const q = await core.readNamespacedResourceQuota({ name: "team-quota", namespace: ns });
      return q.status?.used?.["requests.cpu"] === "1500m" && q.status.used;
    });
    expect(used.pods).toBe("1");
  });

  it("defaults a pod's requests and limits from the namespace's LimitRange", async () => {
    const ns = await namespace();
    await core.createNamespacedLimitRange({
      namespace: ns,
      body: { metadata: { name: "defaults" }, spec: { limits: [{ type: "Container", defaultRequest: { cpu: "250m", memory: "128Mi" }, _default: { cpu: "500m", memory: "256Mi" } }] } },
    });
    const created = await core.createNamespacedPod({ namespace: ns, body: pod("bare") });
    expect(created.spec?.containers[0]?.resources).toEqual({ requests: { cpu: "250m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
    expect(created.metadata?.annotations?.["kubernetes.io/limit-ranger"]).toContain("LimitRanger plugin set");
  });

  it("runs a batch/v1 Job to Succeeded on a KWOK node, and one whose pod exits 3 to Failed", async () => {
    const ns = await namespace();
    const job = (name: string, annotations?: Record<string, string>) => ({
      metadata: { name },
      // An init container, as Cairn's Jobs fetch their code with one: KWOK runs and completes it first.
      spec: { backoffLimit: 0, template: { metadata: { annotations }, spec: { initContainers: [{ ...container(), name: "fetch-code" }], containers: [container()], restartPolicy: "Never" } } },
    });
    await batch.createNamespacedJob({ namespace: ns, body: job("ok", { "cairn.dev/simulate-duration": "500ms" }) });
    await batch.createNamespacedJob({ namespace: ns, body: job("fails", { "cairn.dev/simulate-exit": "3" }) });

    const ok = await until("Job ok to complete", async () => {
      const j = await batch.readNamespacedJob({ name: "ok", namespace: ns });
      return j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") && j;
    });
    expect(ok.status?.succeeded).toBe(1);
    const failed = await until("Job fails to fail", async () => {
      const j = await batch.readNamespacedJob({ name: "fails", namespace: ns });
      return j.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
    });
    expect(failed.reason).toBe("BackoffLimitExceeded");

    const pods = (await core.listNamespacedPod({ namespace: ns })).items;
    const okPod = pods.find((p) => p.metadata?.labels?.["job-name"] === "ok");
    const failedPod = pods.find((p) => p.metadata?.labels?.["job-name"] === "fails");
    expect(okPod?.spec?.nodeName).toMatch(/^kwok-/);
    expect(okPod?.status?.phase).toBe("Succeeded");
    expect(okPod?.status?.initContainerStatuses?.[0]?.state?.terminated?.reason).toBe("Completed");
    expect(failedPod?.status?.phase).toBe("Failed");
    expect(failedPod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);
  });

  it("fails a Job past its activeDeadlineSeconds and removes its running pod", async () => {
    const ns = await namespace();
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: "slow" },
        spec: { activeDeadlineSeconds: 3, backoffLimit: 0, template: { metadata: { annotations: { "cairn.dev/simulate-duration": "1h" } }, spec: { containers: [container()], restartPolicy: "Never" } } },
      },
    });
    await until("slow's pod to run", async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: "job-name=slow" })).items.some((p) => p.status?.phase === "Running"));
    const failed = await until("slow to fail", async () => {
      const j = await batch.readNamespacedJob({ name: "slow", namespace: ns });
      return j.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
    });
    expect(failed.reason).toBe("DeadlineExceeded");
    // The Job controller deletes the pod; KWOK's pod-delete stage removes it once its finalizer is gone.
    await until("slow's pod to be gone", async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: "job-name=slow" })).items.length === 0, 30);
  });

  it("schedules a GPU pod onto a node of the asked gpu-type, and leaves one asking for too many GPUs Pending", async () => {
    const ns = await namespace();
    const gpuPod = (name: string, gpus: string) => pod(name, { nodeSelector: { "gpu-type": "nvidia-t4" }, containers: [container({ limits: { "nvidia.com/gpu": gpus } })] });
    await core.createNamespacedPod({ namespace: ns, body: gpuPod("t4", "2") });
    await core.createNamespacedPod({ namespace: ns, body: gpuPod("too-big", "5") });

    const running = await until("the GPU pod to run", async () => {
      const p = await core.readNamespacedPod({ name: "t4", namespace: ns });
      return p.status?.phase === "Running" && p;
    });
    const node = await core.readNode({ name: running.spec!.nodeName! });
    expect(node.metadata?.labels?.["gpu-type"]).toBe("nvidia-t4");
    expect(node.status?.allocatable?.["nvidia.com/gpu"]).toBe("4");

    const unschedulable = await until("the scheduler's verdict on too-big", async () => {
      const p = await core.readNamespacedPod({ name: "too-big", namespace: ns });
      return p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.reason === "Unschedulable");
    });
    expect(unschedulable.message).toContain("Insufficient nvidia.com/gpu");
  });

  it("brings a Deployment to its available replicas", async () => {
    const ns = await namespace();
    const labels = { app: "smoke" };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name: "web" }, spec: { replicas: 3, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container({ requests: { cpu: "100m" } })] } } } },
    });
    const d = await until("the Deployment to be available", async () => {
      const got = await apps.readNamespacedDeployment({ name: "web", namespace: ns });
      return got.status?.availableReplicas === 3 && got;
    });
    expect(d.status?.observedGeneration).toBe(d.metadata?.generation);
    const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: "app=smoke" })).items;
    expect(pods).toHaveLength(3);
    for (const p of pods) expect(p.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  // `npm run cluster` starts Kueue unless CAIRN_CLUSTER_KUEUE=off.
  it.skipIf(process.env.CAIRN_CLUSTER_KUEUE === "off")("holds a queued Job suspended by its ClusterQueue's quota until the Job before it is cancelled", async () => {
    const ns = await namespace();
    const id = ns.replace("smoke-", "");
    const kueue = { group: "kueue.x-k8s.io", version: "v1beta2" };
    await custom.createClusterCustomObject({ ...kueue, plural: "resourceflavors", body: { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: `smoke-${id}` } } });
    cleanups.push(() => custom.deleteClusterCustomObject({ ...kueue, plural: "resourceflavors", name: `smoke-${id}` }));
    await custom.createClusterCustomObject({
      ...kueue, plural: "clusterqueues",
      body: {
        apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ClusterQueue", metadata: { name: `smoke-${id}` },
        spec: {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
          resourceGroups: [{ coveredResources: ["cpu", "memory"], flavors: [{ name: `smoke-${id}`, resources: [{ name: "cpu", nominalQuota: "2" }, { name: "memory", nominalQuota: "4Gi" }] }] }],
        },
      },
    });
    cleanups.push(() => custom.deleteClusterCustomObject({ ...kueue, plural: "clusterqueues", name: `smoke-${id}` }));
    // The LocalQueue as Cairn's tenant sync writes it: kueue.x-k8s.io/v1beta1, converted by Kueue's webhook.
    await custom.createNamespacedCustomObject({
      group: "kueue.x-k8s.io", version: "v1beta1", namespace: ns, plural: "localqueues",
      body: { apiVersion: "kueue.x-k8s.io/v1beta1", kind: "LocalQueue", metadata: { name: "cairn" }, spec: { clusterQueue: `smoke-${id}` } },
    });
    await until("the ClusterQueue to be active", async () => {
      const cq = (await custom.getClusterCustomObject({ ...kueue, plural: "clusterqueues", name: `smoke-${id}` })) as { status?: { conditions?: { type: string; status: string }[] } };
      return cq.status?.conditions?.some((c) => c.type === "Active" && c.status === "True");
    });

    const queued = (name: string, cpu: string, duration: string) => ({
      metadata: { name, labels: { "kueue.x-k8s.io/queue-name": "cairn" } },
      spec: {
        backoffLimit: 0,
        template: { metadata: { annotations: { "cairn.dev/simulate-duration": duration } }, spec: { containers: [container({ requests: { cpu, memory: "1Gi" } })], restartPolicy: "Never" } },
      },
    });
    const first = await batch.createNamespacedJob({ namespace: ns, body: queued("first", "1500m", "1h") });
    expect(first.spec?.suspend).toBe(true); // Kueue's webhook: a queued Job starts suspended
    await until("first to be admitted and unsuspended", async () => (await batch.readNamespacedJob({ name: "first", namespace: ns })).spec?.suspend === false);
    await batch.createNamespacedJob({ namespace: ns, body: queued("second", "1", "1s") });

    // 1.5 + 1 CPU exceed the queue's 2: second waits, suspended, until first is gone.
    type Workload = { metadata: { ownerReferences?: { name: string }[] }; status?: { conditions?: { type: string; status: string; message?: string }[] } };
    const pending = await until("second's Workload to wait for quota", async () => {
      const list = (await custom.listNamespacedCustomObject({ ...kueue, namespace: ns, plural: "workloads" })) as { items: Workload[] };
      const w = list.items.find((i) => i.metadata.ownerReferences?.some((o) => o.name === "second"));
      return w?.status?.conditions?.find((c) => c.type === "QuotaReserved" && c.status === "False");
    });
    expect(pending.message).toContain("insufficient unused quota for cpu");
    expect((await batch.readNamespacedJob({ name: "second", namespace: ns })).spec?.suspend).toBe(true);
    const firstPod = await until("first's pod to run", async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: "job-name=first" })).items.find((p) => p.status?.phase === "Running"));
    expect(firstPod.metadata?.name).toBeTruthy();

    // Cancelling first (as Cairn does: delete with propagation) frees the quota, and Kueue admits second.
    await batch.deleteNamespacedJob({ name: "first", namespace: ns, propagationPolicy: "Background" });
    const done = await until("second to complete", async () => {
      const j = await batch.readNamespacedJob({ name: "second", namespace: ns });
      return j.status?.succeeded === 1 && j;
    });
    expect(done.spec?.suspend).toBe(false);
  });

  it.skipIf(process.env.CAIRN_CLUSTER_KUEUE === "off")("admits Jobs queued to the cluster's `cairn` ClusterQueue onto the flavor of their node pool", async () => {
    const ns = await namespace();
    await custom.createNamespacedCustomObject({
      group: "kueue.x-k8s.io", version: "v1beta1", namespace: ns, plural: "localqueues",
      body: { apiVersion: "kueue.x-k8s.io/v1beta1", kind: "LocalQueue", metadata: { name: "cairn" }, spec: { clusterQueue: "cairn" } },
    });
    const job = (name: string, resources: Record<string, Record<string, string>>, nodeSelector?: Record<string, string>) => ({
      metadata: { name, labels: { "kueue.x-k8s.io/queue-name": "cairn" } },
      spec: { backoffLimit: 0, template: { spec: { containers: [container(resources)], restartPolicy: "Never", nodeSelector } } },
    });
    await batch.createNamespacedJob({ namespace: ns, body: job("cpu", { requests: { cpu: "2", memory: "1Gi" } }) });
    await batch.createNamespacedJob({ namespace: ns, body: job("t4", { requests: { cpu: "1" }, limits: { "nvidia.com/gpu": "2" } }, { "gpu-type": "nvidia-t4" }) });
    for (const [name, pool] of [["cpu", "cpu"], ["t4", "gpu"]] as const) {
      const done = await until(`Job ${name} to complete`, async () => {
        const j = await batch.readNamespacedJob({ name, namespace: ns });
        return j.status?.succeeded === 1 && j;
      });
      expect(done.spec?.suspend).toBe(false);
      const [p] = (await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${name}` })).items;
      const node = await core.readNode({ name: p!.spec!.nodeName! });
      expect(node.metadata?.labels?.["cairn.dev/pool"]).toBe(pool);
      if (name === "t4") expect(node.metadata?.labels?.["gpu-type"]).toBe("nvidia-t4");
    }
  });
});
