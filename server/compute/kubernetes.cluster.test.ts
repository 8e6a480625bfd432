// The kubernetes executor on its own against the local cluster (`npm run test:cluster`): the Job and Secret it makes
// as the API server validated and stored them, the job's image and no init container without code, adoption of its
// own Job after a crash (a real 409 AlreadyExists) and refusal of another's, a Job the namespace's quota never
// lets start ending at its deadline, a new process finding, killing and waiting out a live Job, and — when the cluster
// serves Kueue — a Job waiting in the team's LocalQueue until its ClusterQueue has room.
// (Pod output: KWOK serves no logs, so the log follow is tested with the in-test API server, kubernetes.test.ts.)
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApisApi, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AttemptHandlers, ExitInfo, LaunchSpec } from "./backend";
import { createBackend } from "./index";
import { servesKueue } from "./k8s-api";
import { KubernetesBackend } from "./kubernetes";
import { until } from "@/server/testing/until";

const stateDir = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");
// createBackend("kubernetes") reads these through env() (read lazily).
process.env.CAIRN_COMPUTE_BACKEND = "kubernetes";
process.env.KUBECONFIG = path.join(stateDir, "kubeconfig");

const team = `exec-${randomBytes(3).toString("hex")}`;
const ns = `cairn-${team}`;
const kc = new KubeConfig();
let core: CoreV1Api;
let batch: BatchV1Api;
let dir: string;

beforeAll(async () => {
  kc.loadFromFile(process.env.KUBECONFIG!);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  dir = mkdtempSync(path.join(os.tmpdir(), "cairn-k8s-cluster-"));
  // (The executor makes a team's namespace itself on its first job: jobs-kubernetes.cluster.test.ts.)
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The executor, with KWOK's outcome for every pod it starts (scripts/cluster/kwok-stages.yaml). */
function backend(kwok: Record<string, string> = {}): KubernetesBackend {
  return new KubernetesBackend({ kubeConfig: kc, pollMs: 200, killPollMs: 100, ttlSecondsAfterFinished: 600, podAnnotations: () => kwok });
}

function spec(over: Partial<LaunchSpec> = {}): LaunchSpec {
  const jobId = randomUUID();
  return {
    jobId, attempt: 1, team, runId: randomUUID().replace(/-/g, ""), experimentId: 7, image: null, source: "examples/churn",
    command: ["node", "train.mjs", "--epochs", "3"],
    env: {
      PATH: "/usr/local/bin:/usr/bin", HOME: "/srv/cairn/.data/jobs/x", NODE_PATH: "/srv/cairn/node_modules", LANG: "C.UTF-8",
      MLFLOW_TRACKING_URI: "http://cairn.internal:3000", MLFLOW_TRACKING_TOKEN: `cairn_${"t".repeat(43)}`, MLFLOW_RUN_ID: "r1", LEARNING_RATE: "0.1",
    },
    workdir: path.join(dir, jobId), logFile: path.join(dir, jobId, "output.log"), maxRuntimeSeconds: 900,
    resources: { cpu: 1, memoryGib: 1, gpus: 0, gpuType: null },
    ...over,
  };
}

type Tracked = { handlers: AttemptHandlers; exit: Promise<ExitInfo>; messages: string[] };
function track(): Tracked {
  let resolve!: (e: ExitInfo) => void;
  const exit = new Promise<ExitInfo>((r) => (resolve = r));
  const t: Tracked = { exit, messages: [], handlers: { onExit: (e) => resolve(e), onMessage: (m) => t.messages.push(m) } };
  return t;
}


const nameOf = (ref: string) => ref.split("/")[1]!;
const podsOf = async (name: string) => (await core.listNamespacedPod({ namespace: ns, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
const gone = async (read: () => Promise<unknown>) => read().then(() => false, (err: { code?: number }) => err.code === 404);

describe("the Job it submits, as the API server stored it", () => {
  it("a Job in the team namespace with fixed limits, deadline, no retries, the code fetched by an init container, and the token only in a Secret the Job owns", async () => {
    const s = spec({ resources: { cpu: 1.5, memoryGib: 6, gpus: 0, gpuType: null }, maxRuntimeSeconds: 1234 });
    const t = track();
    const { ref } = await backend({ "cairn.dev/simulate-duration": "1h" }).start(s, t.handlers);
    const name = `cairn-job-${s.jobId.slice(0, 8)}-1`;
    expect(ref).toBe(`k8s:${ns}/${name}`);
    const job = await batch.readNamespacedJob({ namespace: ns, name });
    expect(job.metadata!.labels).toMatchObject({ "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": team, "cairn.dev/job": s.jobId, "cairn.dev/run": s.runId, "cairn.dev/experiment": "7", "cairn.dev/attempt": "1" });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 1234, ttlSecondsAfterFinished: 600, suspend: false });
    // The namespace has no LocalQueue (with or without Kueue in the cluster): the Job is not queued for it.
    expect(job.metadata!.labels).not.toHaveProperty("kueue.x-k8s.io/queue-name");
    const pod = job.spec!.template.spec!;
    expect(pod).toMatchObject({ restartPolicy: "Never", automountServiceAccountToken: false, securityContext: { runAsNonRoot: true, runAsUser: 1000 } });
    const main = pod.containers[0]!;
    const amounts = { cpu: "1500m", memory: "6Gi" };
    expect(main).toMatchObject({ name: "main", image: "node:20-slim", command: s.command, workingDir: "/workspace", resources: { requests: amounts, limits: amounts } });
    expect(main.securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } });
    const env = Object.fromEntries(main.env!.map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef?.name]));
    expect(env).toMatchObject({ LEARNING_RATE: "0.1", HOME: "/workspace", MLFLOW_TRACKING_TOKEN: `${name}-env` });
    expect(env).not.toHaveProperty("PATH");
    const init = pod.initContainers![0]!;
    expect(init).toMatchObject({ name: "fetch-code", image: "curlimages/curl:8.11.1" });
    expect(init.env!.find((e) => e.name === "CAIRN_CODE_URL")!.value).toBe(`http://cairn.internal:3000/api/v1/jobs/${s.jobId}/code`);
    expect(JSON.stringify(job)).not.toContain(s.env.MLFLOW_TRACKING_TOKEN);
    const secret = await core.readNamespacedSecret({ namespace: ns, name: `${name}-env` });
    expect(Buffer.from(secret.data!.MLFLOW_TRACKING_TOKEN!, "base64").toString()).toBe(s.env.MLFLOW_TRACKING_TOKEN);
    expect(secret.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: "Job", name, uid: job.metadata!.uid })]);
    // The job controller's pod passed admission and was scheduled.
    const created = await until("the pod to be scheduled", async () => (await podsOf(name)).find((p) => p.spec?.nodeName));
    expect(created!.metadata!.name).toMatch(new RegExp(`^${name}-[a-z0-9]{5}$`));
  });

  it("uses the job's image when it names one, has no init container without a code source, and ends with exit code 0", async () => {
    const s = spec({ image: "python:3.12-slim", source: null, command: ["python", "-c", "print(1)"] });
    const t = track();
    const { ref } = await backend().start(s, t.handlers);
    expect(await t.exit).toEqual({ exitCode: 0, signal: null });
    const job = await batch.readNamespacedJob({ namespace: ns, name: nameOf(ref) });
    expect(job.spec!.template.spec!.containers[0]!.image).toBe("python:3.12-slim");
    expect(job.spec!.template.spec!.initContainers).toBeUndefined();
    expect(await gone(() => core.readNamespacedSecret({ namespace: ns, name: `${nameOf(ref)}-env` }))).toBe(true);
    expect(readFileSync(s.logFile, "utf8")).toMatch(/^\n=== attempt 1 started \S+: python -c print\(1\)\n=== attempt 1 ended \S+: exit code 0\n$/);
  });
});

describe("a re-submit after a crash", () => {
  it("adopts the Job that already exists (409 AlreadyExists) and follows it to its end", async () => {
    const s = spec({ source: null });
    const { ref } = await backend({ "cairn.dev/simulate-duration": "3s", "cairn.dev/simulate-exit": "4" }).start(s, track().handlers);
    // A new server process submits the same attempt again.
    const t = track();
    const again = await backend().start(s, t.handlers);
    expect(again.ref).toBe(ref);
    expect((await batch.listNamespacedJob({ namespace: ns, labelSelector: `cairn.dev/job=${s.jobId}` })).items).toHaveLength(1);
    expect(await t.exit).toEqual({ exitCode: 4, signal: null });
  });

  it("refuses to adopt a Job of the same name that belongs to another job", async () => {
    const s = spec({ source: null });
    await backend({ "cairn.dev/simulate-duration": "1h" }).start(s, track().handlers);
    const other = { ...s, jobId: `${s.jobId.slice(0, 8)}-0000-4000-8000-000000000000` };
    await expect(backend().start(other, track().handlers)).rejects.toThrow(/already exists and belongs to another job/);
  });
});

describe("quota and deadline", () => {
  it("a Job the namespace's quota never lets start shows the refusal, then ends at its deadline", async () => {
    await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: "no-gpus" }, spec: { hard: { "requests.nvidia.com/gpu": "0" } } } });
    try {
      await until("the quota controller to count", async () => (await core.readNamespacedResourceQuota({ namespace: ns, name: "no-gpus" })).status?.used);
      const t = track();
      await backend().start(spec({ source: null, maxRuntimeSeconds: 4, resources: { cpu: 1, memoryGib: 1, gpus: 1, gpuType: "nvidia-t4" } }), t.handlers);
      await until("the refusal", () => t.messages.find((m) => m.includes("exceeded quota: no-gpus")));
      expect(await t.exit).toEqual({ exitCode: null, signal: null, reason: "timeout" });
    } finally {
      await core.deleteNamespacedResourceQuota({ namespace: ns, name: "no-gpus" }).catch(() => undefined);
    }
  });
});

describe("recovery by a new process", () => {
  it("finds a Job an earlier one started alive, kills it and waits until it and its pods are gone", async () => {
    const { ref } = await backend({ "cairn.dev/simulate-duration": "1h" }).start(spec({ source: null }), track().handlers);
    const name = nameOf(ref);
    await until("the pod to run", async () => (await podsOf(name)).some((p) => p.status?.phase === "Running"));
    const restarted = backend();
    expect(await restarted.isAlive(ref)).toBe(true);
    await restarted.kill(ref);
    expect(await gone(() => batch.readNamespacedJob({ namespace: ns, name }))).toBe(true);
    expect(await podsOf(name)).toEqual([]);
    expect(await restarted.isAlive(ref)).toBe(false);
    await restarted.kill(ref); // already gone: nothing to do
    expect(await restarted.isAlive("pid:123:456")).toBe(false);
  });

  it("a finished Job is not alive; createBackend('kubernetes') finds the cluster through KUBECONFIG", async () => {
    const t = track();
    const { ref } = await backend({ "cairn.dev/simulate-exit": "1" }).start(spec({ source: null }), t.handlers);
    expect((await t.exit).exitCode).toBe(1);
    const b = createBackend("kubernetes");
    expect(b.name).toBe("kubernetes");
    expect(await b.isAlive(ref)).toBe(false);
    expect(await b.isAlive(`k8s:${ns}/cairn-job-00000000-1`)).toBe(false);
  });
});

describe("Kueue", () => {
  it("with Kueue the Job joins the team's LocalQueue suspended, waits with a message, and runs once its ClusterQueue has room", async (ctx) => {
    if (!(await servesKueue(kc.makeApiClient(ApisApi)))) return ctx.skip(); // the cluster was started with CAIRN_CLUSTER_KUEUE=off
    const custom = kc.makeApiClient(CustomObjectsApi);
    const KUEUE = { group: "kueue.x-k8s.io", version: "v1beta1" };
    // ResourceFlavors and ClusterQueues are the cluster admin's, in Kueue's current version (v1beta1 ones do not convert).
    const ADMIN_KUEUE = { group: "kueue.x-k8s.io", version: "v1beta2" };
    const queue = `${team}-queue`;
    const clusterQueue = (cpu: string) => ({
      apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ClusterQueue", metadata: { name: queue },
      spec: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } }, resourceGroups: [{ coveredResources: ["cpu", "memory"], flavors: [{ name: queue, resources: [{ name: "cpu", nominalQuota: cpu }, { name: "memory", nominalQuota: "8Gi" }] }] }] },
    });
    await custom.createClusterCustomObject({ ...ADMIN_KUEUE, plural: "resourceflavors", body: { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: queue } } });
    try {
      // No CPU in the ClusterQueue yet: whatever joins it waits.
      await custom.createClusterCustomObject({ ...ADMIN_KUEUE, plural: "clusterqueues", body: clusterQueue("0") });
      await custom.createNamespacedCustomObject({ ...KUEUE, namespace: ns, plural: "localqueues", body: { apiVersion: "kueue.x-k8s.io/v1beta1", kind: "LocalQueue", metadata: { name: "cairn" }, spec: { clusterQueue: queue } } });
      await until("the ClusterQueue to be active", async () => {
        const cq = (await custom.getClusterCustomObject({ ...ADMIN_KUEUE, plural: "clusterqueues", name: queue })) as { status?: { conditions?: { type: string; status: string }[] } };
        return cq.status?.conditions?.some((c) => c.type === "Active" && c.status === "True");
      });
      const t = track();
      const { ref } = await backend().start(spec({ source: null }), t.handlers);
      const name = nameOf(ref);
      const job = await batch.readNamespacedJob({ namespace: ns, name });
      expect(job.metadata!.labels).toMatchObject({ "kueue.x-k8s.io/queue-name": "cairn" });
      expect(job.spec!.suspend).toBe(true);
      await until("the wait to show", () => t.messages.includes("waiting for Kueue to admit the job (LocalQueue cairn)"));
      expect(await podsOf(name)).toEqual([]);

      const current = (await custom.getClusterCustomObject({ ...ADMIN_KUEUE, plural: "clusterqueues", name: queue })) as { metadata: { resourceVersion: string } };
      await custom.replaceClusterCustomObject({ ...ADMIN_KUEUE, plural: "clusterqueues", name: queue, body: { ...clusterQueue("4"), metadata: { name: queue, resourceVersion: current.metadata.resourceVersion } } });
      expect(await t.exit).toEqual({ exitCode: 0, signal: null });
      expect(t.messages).toContain("admitted by Kueue");
    } finally {
      await custom.deleteNamespacedCustomObject({ ...KUEUE, namespace: ns, plural: "localqueues", name: "cairn" }).catch(() => undefined);
      await custom.deleteClusterCustomObject({ ...ADMIN_KUEUE, plural: "clusterqueues", name: queue }).catch(() => undefined);
      await custom.deleteClusterCustomObject({ ...ADMIN_KUEUE, plural: "resourceflavors", name: queue }).catch(() => undefined);
    }
  });
});
