// The kubernetes executor against an in-test API server that answers like a real one and validates
// every object it is sent with kubernetes-models: the Job and Secret it makes, logs, exit codes,
// deadlines, adoption after a crash, quota refusals, watch expiry, cancel, and recovery by a new process.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AttemptHandlers, ExitInfo, LaunchSpec } from "./backend";
import { createBackend } from "./index";
import { KubernetesBackend } from "./kubernetes";
import { FakeCluster } from "./testing/fake-k8s";

const POLL_MS = 100;
let cluster: FakeCluster;
let dir: string;
const backends: KubernetesBackend[] = [];

beforeAll(async () => {
  cluster = new FakeCluster();
  await cluster.listen();
  dir = mkdtempSync(path.join(os.tmpdir(), "cairn-k8s-"));
});

afterAll(async () => {
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  // Nothing of a test outlives it: every Job, pod and Secret still there is deleted.
  for (const plural of ["jobs", "pods", "secrets"]) for (const obj of cluster.list(plural, null)) cluster.remove(plural, obj);
});

function backend(): KubernetesBackend {
  const b = new KubernetesBackend({ kubeConfig: cluster.kubeConfig(), pollMs: POLL_MS, killPollMs: 20, ttlSecondsAfterFinished: 600 });
  backends.push(b);
  return b;
}

function spec(over: Partial<LaunchSpec> = {}): LaunchSpec {
  const jobId = randomUUID();
  return {
    jobId, attempt: 1, team: "churn", runId: randomUUID().replace(/-/g, ""), experimentId: 7, image: null, source: "examples/churn",
    command: ["node", "train.mjs", "--epochs", "3"],
    env: {
      PATH: "/usr/local/bin:/usr/bin", HOME: "/srv/cairn/.data/jobs/x", NODE_PATH: "/srv/cairn/node_modules", LANG: "C.UTF-8",
      MLFLOW_TRACKING_URI: "http://cairn.internal:3000", MLFLOW_TRACKING_TOKEN: `cairn_${"t".repeat(43)}`, MLFLOW_RUN_ID: "r1", LEARNING_RATE: "0.1",
    },
    workdir: path.join(dir, jobId), logFile: path.join(dir, jobId, "output.log"), maxRuntimeSeconds: 900,
    resources: { cpu: 2, memoryGib: 4, gpus: 0, gpuType: null },
    ...over,
  };
}

type Tracked = { handlers: AttemptHandlers; exit: Promise<ExitInfo>; exits: ExitInfo[]; messages: { at: number; text: string }[]; started: number[] };
function track(): Tracked {
  let resolve!: (e: ExitInfo) => void;
  const exit = new Promise<ExitInfo>((r) => (resolve = r));
  const t: Tracked = {
    exit, exits: [], messages: [], started: [],
    handlers: { onExit: (e) => { t.exits.push(e); resolve(e); }, onMessage: (text) => t.messages.push({ at: Date.now(), text }), onStarted: () => t.started.push(Date.now()) },
  };
  return t;
}

async function until<T>(probe: () => T | undefined | null | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ns = "cairn-churn";
const jobNameOf = (ref: string) => ref.split("/")[1]!;
const podOf = (job: string) => until(() => cluster.controller.podsOf(ns, job)[0]?.metadata.name);
const posted = (plural: string) => cluster.requests.filter((r) => r.method === "POST" && r.path.endsWith(`/${plural}`));
const settle = () => new Promise((r) => setTimeout(r, 3 * POLL_MS));

describe("the Job it submits", () => {
  it("is a valid batch/v1 Job in the team namespace with fixed limits, deadline, no retries, the code fetched by an init container, and the token in a Secret", async () => {
    const s = spec({ resources: { cpu: 1.5, memoryGib: 6, gpus: 2, gpuType: "a100" }, maxRuntimeSeconds: 1234 });
    const { ref } = await backend().start(s, track().handlers);
    const name = `cairn-job-${s.jobId.slice(0, 8)}-1`;
    expect(ref).toBe(`k8s:${ns}/${name}`);
    // The team namespace did not exist: it was made first (the create answered 404 NotFound).
    expect(cluster.get("namespaces", null, ns)?.metadata.labels).toMatchObject({ "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": "churn" });
    const body = posted("jobs").at(-1)!.body as IJob;
    expect(() => new Job(body).validate()).not.toThrow();
    expect(body.metadata).toMatchObject({
      name, namespace: ns,
      labels: { "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": "churn", "cairn.dev/job": s.jobId, "cairn.dev/run": s.runId, "cairn.dev/experiment": "7", "cairn.dev/attempt": "1" },
    });
    expect(body.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 1234, ttlSecondsAfterFinished: 600 });
    const pod = body.spec!.template.spec!;
    expect(pod).toMatchObject({ restartPolicy: "Never", automountServiceAccountToken: false, securityContext: { runAsNonRoot: true }, volumes: [{ name: "workspace", emptyDir: {} }] });
    const [main] = pod.containers;
    const amounts = { cpu: "1500m", memory: "6Gi", "nvidia.com/gpu": "2" };
    expect(main).toMatchObject({ name: "main", image: "node:20-slim", command: s.command, workingDir: "/workspace", resources: { requests: amounts, limits: amounts } });
    expect(main!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false });
    const env = Object.fromEntries(main!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({ LEARNING_RATE: "0.1", MLFLOW_TRACKING_URI: "http://cairn.internal:3000", HOME: "/workspace", MLFLOW_TRACKING_TOKEN: { secretKeyRef: { name: `${name}-env`, key: "MLFLOW_TRACKING_TOKEN" } } });
    expect(env).not.toHaveProperty("PATH");
    expect(env).not.toHaveProperty("NODE_PATH");
    const [init] = pod.initContainers!;
    expect(init).toMatchObject({ name: "fetch-code", image: "curlimages/curl:8.11.1", volumeMounts: [{ name: "workspace", mountPath: "/workspace" }] });
    expect(init!.command!.join(" ")).toMatch(/curl .*tar -xzf .* -C \/workspace/);
    expect(init!.env).toEqual([
      { name: "CAIRN_CODE_URL", value: `http://cairn.internal:3000/api/v1/jobs/${s.jobId}/code` },
      { name: "CAIRN_JOB_TOKEN", valueFrom: { secretKeyRef: { name: `${name}-env`, key: "MLFLOW_TRACKING_TOKEN" } } },
    ]);
    // The token is in the Secret, never in the Job; the Secret is owned by the Job.
    expect(JSON.stringify(cluster.get("jobs", ns, name))).not.toContain(s.env.MLFLOW_TRACKING_TOKEN);
    const secret = cluster.get("secrets", ns, `${name}-env`)!;
    expect(Buffer.from((secret.data as Record<string, string>).MLFLOW_TRACKING_TOKEN!, "base64").toString()).toBe(s.env.MLFLOW_TRACKING_TOKEN);
    expect(secret.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Job", name, uid: cluster.get("jobs", ns, name)!.metadata.uid })]);
    // The pod the job controller made from the template passed validation too, with no quota in the way.
    expect(await podOf(name)).toMatch(new RegExp(`^${name}-[a-z0-9]{5}$`));
  });

  it("uses the job's image when it names one, and has no init container without a code source", async () => {
    const s = spec({ image: "python:3.12-slim", source: null, command: ["python", "-c", "print(1)"] });
    await backend().start(s, track().handlers);
    const body = posted("jobs").at(-1)!.body as IJob;
    expect(body.spec!.template.spec!.containers[0]!.image).toBe("python:3.12-slim");
    expect(body.spec!.template.spec!.initContainers).toBeUndefined();
    expect(body.spec!.template.spec!.containers[0]!.resources!.limits).toEqual({ cpu: "2", memory: "4Gi" });
  });
});

describe("an attempt's life", () => {
  it("succeeds with exit code 0, its output appended to the log file between the attempt's header and footer", async () => {
    const s = spec();
    const t = track();
    const { ref } = await backend().start(s, t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.print(ns, pod, "epoch 1 loss 0.69\nepoch 2 loss 0.52");
    await until(() => readFileSync(s.logFile, "utf8").includes("epoch 2 loss 0.52"));
    cluster.controller.print(ns, pod, "done training");
    cluster.controller.exit(ns, pod, 0);
    expect(await t.exit).toEqual({ exitCode: 0, signal: null });
    const log = readFileSync(s.logFile, "utf8");
    expect(log).toMatch(/^\n=== attempt 1 started \S+: node train.mjs --epochs 3\nepoch 1 loss 0.69\nepoch 2 loss 0.52\ndone training\n=== attempt 1 ended \S+: exit code 0\n$/);
    // Its credentials go as soon as it ends.
    expect(cluster.get("secrets", ns, `${jobNameOf(ref)}-env`)).toBeUndefined();
    await settle();
    expect(t.exits).toHaveLength(1);
  });

  it("reads the output of a pod that ran and ended between two polls", async () => {
    const s = spec();
    const t = track();
    const { ref } = await backend().start(s, t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.print(ns, pod, "quick job output");
    cluster.controller.exit(ns, pod, 0);
    expect((await t.exit).exitCode).toBe(0);
    expect(readFileSync(s.logFile, "utf8")).toContain("quick job output\n=== attempt 1 ended");
  });

  it("fails with the main container's exit code", async () => {
    const s = spec();
    const t = track();
    const { ref } = await backend().start(s, t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.print(ns, pod, "Traceback: boom");
    cluster.controller.exit(ns, pod, 3);
    expect(await t.exit).toEqual({ exitCode: 3, signal: null });
    expect(readFileSync(s.logFile, "utf8")).toMatch(/Traceback: boom\n=== attempt 1 ended \S+: exit code 3\n$/);
  });

  it("ends with reason timeout when the Job passes its activeDeadlineSeconds", async () => {
    const s = spec();
    const t = track();
    const { ref } = await backend().start(s, t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.exceedDeadline(ns, jobNameOf(ref));
    expect(await t.exit).toEqual({ exitCode: null, signal: null, reason: "timeout" });
    expect(readFileSync(s.logFile, "utf8")).toMatch(/=== attempt 1 ended \S+: timeout\n$/);
  });

  it("resumes a dropped log follow from the last timestamp without repeating lines", async () => {
    const s = spec();
    const t = track();
    const { ref } = await backend().start(s, t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.print(ns, pod, "line 1\nline 2");
    await until(() => readFileSync(s.logFile, "utf8").includes("line 2"));
    cluster.controller.dropLogFollows(ns, pod);
    await settle();
    cluster.controller.print(ns, pod, "line 3");
    await until(() => readFileSync(s.logFile, "utf8").includes("line 3"));
    const resumed = cluster.requests.filter((r) => r.path.endsWith(`/pods/${pod}/log`));
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    expect(resumed.at(-1)!.query).toMatchObject({ container: "main", follow: "true", timestamps: "true", sinceTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    cluster.controller.exit(ns, pod, 0);
    await t.exit;
    expect(readFileSync(s.logFile, "utf8").match(/line \d/g)).toEqual(["line 1", "line 2", "line 3"]);
  });

  it("shows why a pod cannot start (an image that cannot be pulled)", async () => {
    const t = track();
    const { ref } = await backend().start(spec({ image: "registry.invalid/nope:1" }), t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.wait(ns, pod, "ImagePullBackOff", 'Back-off pulling image "registry.invalid/nope:1"');
    await until(() => t.messages.find((m) => m.text.includes("ImagePullBackOff")));
  });
});

describe("a re-submit after a crash", () => {
  it("adopts the Job that already exists (409 AlreadyExists) and follows it to success", async () => {
    const s = spec();
    const first = backend();
    const { ref } = await first.start(s, track().handlers);
    // A new server process submits the same attempt again.
    const t = track();
    const again = await backend().start(s, t.handlers);
    expect(again.ref).toBe(ref);
    expect(cluster.list("jobs", ns).filter((j) => j.metadata.name === jobNameOf(ref))).toHaveLength(1);
    expect(cluster.requests.filter((r) => r.method === "GET" && r.path === `/apis/batch/v1/namespaces/${ns}/jobs/${jobNameOf(ref)}`).length).toBeGreaterThan(0);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.exit(ns, pod, 0);
    expect((await t.exit).exitCode).toBe(0);
  });

  it("refuses to adopt a Job of the same name that belongs to another job", async () => {
    const s = spec();
    await backend().start(s, track().handlers);
    const other = { ...s, jobId: `${s.jobId.slice(0, 8)}-0000-4000-8000-000000000000` };
    await expect(backend().start(other, track().handlers)).rejects.toThrow(/already exists and belongs to another job/);
  });
});

describe("quota", () => {
  it("surfaces the namespace quota's refusal through onMessage within the poll interval, and runs once there is room", async () => {
    cluster.createNamespace(ns);
    cluster.controller.setQuota(ns, "team-quota", { "requests.nvidia.com/gpu": "8", "limits.cpu": "64", "limits.memory": "256Gi", "requests.cpu": "64" });
    // Another job of the team already holds 6 of the 8 GPUs.
    const busy = await backend().start(spec({ resources: { cpu: 1, memoryGib: 1, gpus: 6, gpuType: "a100" } }), track().handlers);
    const busyPod = await podOf(jobNameOf(busy.ref));
    cluster.controller.run(ns, busyPod);
    const t = track();
    const { ref } = await backend().start(spec({ resources: { cpu: 2, memoryGib: 8, gpus: 4, gpuType: "a100" } }), t.handlers);
    const name = jobNameOf(ref);
    const event = await until(() => cluster.list("events", ns).find((e) => (e.involvedObject as { name: string }).name === name && e.reason === "FailedCreate"));
    expect(event).toMatchObject({ type: "Warning", message: expect.stringMatching(new RegExp(`^Error creating: pods "${name}-[a-z0-9]{5}" is forbidden: exceeded quota: team-quota, requested: requests.nvidia.com/gpu=4, used: requests.nvidia.com/gpu=6, limited: requests.nvidia.com/gpu=8$`)) });
    const seen = Date.now();
    const message = await until(() => t.messages.find((m) => m.text.includes("exceeded quota")), 2000);
    expect(message.at - seen).toBeLessThanOrEqual(POLL_MS * 3);
    expect(message.text).toMatch(/^waiting for the cluster: pods "[^"]+" is forbidden: exceeded quota: team-quota, requested: requests.nvidia.com\/gpu=4/);
    expect(cluster.get("jobs", ns, name)!.status).toMatchObject({});
    expect((cluster.get("jobs", ns, name)!.status as { active?: number }).active ?? 0).toBe(0);
    // The busy job ends; the job controller's retry now fits.
    cluster.controller.exit(ns, busyPod, 0);
    const pod = await podOf(name);
    cluster.controller.run(ns, pod);
    await until(() => t.messages.find((m) => m.text === `pod ${pod} started`));
    cluster.controller.exit(ns, pod, 0);
    expect((await t.exit).exitCode).toBe(0);
    expect(t.messages.filter((m) => m.text.includes("exceeded quota"))).toHaveLength(1);
    cluster.controller.setQuota(ns, "team-quota", { "requests.nvidia.com/gpu": "64" });
  });

  it("a Job the quota never lets start ends at its deadline", async () => {
    cluster.controller.setQuota(ns, "team-quota", { "requests.nvidia.com/gpu": "1" });
    const t = track();
    const { ref } = await backend().start(spec({ resources: { cpu: 1, memoryGib: 1, gpus: 2, gpuType: "a100" } }), t.handlers);
    await until(() => t.messages.find((m) => m.text.includes("exceeded quota")));
    cluster.controller.exceedDeadline(ns, jobNameOf(ref));
    expect((await t.exit).reason).toBe("timeout");
    cluster.controller.setQuota(ns, "team-quota", { "requests.nvidia.com/gpu": "64" });
  });
});

describe("Kueue", () => {
  it("with Kueue installed the Job joins the team's LocalQueue suspended, waits with a message, and runs once Kueue admits it", async () => {
    cluster.kueue = true;
    cluster.kueueHold = true;
    try {
      cluster.insert("localqueues", { metadata: { name: "cairn", namespace: ns }, spec: { clusterQueue: "cairn" } });
      const s = spec();
      const t = track();
      const { ref } = await backend().start(s, t.handlers);
      const body = posted("jobs").at(-1)!.body as IJob;
      expect(() => new Job(body).validate()).not.toThrow();
      expect(body.metadata!.labels).toMatchObject({ "kueue.x-k8s.io/queue-name": "cairn" });
      expect(body.spec!.suspend).toBe(true);
      await until(() => t.messages.find((m) => m.text === "waiting for Kueue to admit the job (LocalQueue cairn)"));
      expect(cluster.controller.podsOf(ns, jobNameOf(ref))).toHaveLength(0);
      await settle();
      expect(t.started).toEqual([]); // waiting in the queue is not running
      expect(cluster.controller.kueueAdmit(ns)).toBe(1);
      const pod = await podOf(jobNameOf(ref));
      await until(() => t.messages.find((m) => m.text === "admitted by Kueue"));
      cluster.controller.run(ns, pod);
      await until(() => t.started.length > 0);
      cluster.controller.exit(ns, pod, 0);
      expect(await t.exit).toEqual({ exitCode: 0, signal: null });
      expect(t.started).toHaveLength(1);
    } finally {
      cluster.kueue = false;
      cluster.kueueHold = false;
      cluster.remove("localqueues", cluster.get("localqueues", ns, "cairn")!);
    }
  });

  it("with Kueue installed but no LocalQueue in the team's namespace (not synced yet), the Job runs without Kueue rather than wait forever", async () => {
    cluster.kueue = true;
    try {
      await backend().start(spec(), track().handlers);
      const body = posted("jobs").at(-1)!.body as IJob;
      expect(body.metadata!.labels).not.toHaveProperty("kueue.x-k8s.io/queue-name");
      expect(body.spec!.suspend ?? false).toBe(false);
    } finally {
      cluster.kueue = false;
    }
  });

  it("without Kueue the Job is neither labelled for a queue nor suspended", async () => {
    await backend().start(spec(), track().handlers);
    const body = posted("jobs").at(-1)!.body as IJob;
    expect(body.metadata!.labels).not.toHaveProperty("kueue.x-k8s.io/queue-name");
    expect(body.spec!.suspend ?? false).toBe(false); // (the recorded body carries the server's defaulting)
  });
});

describe("the watch", () => {
  it("re-lists after an ERROR 410 Expired event and still sees the completion", async () => {
    const t = track();
    const { ref } = await backend().start(spec(), t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    await until(() => cluster.openWatches > 0);
    const lists = () => cluster.requests.filter((r) => r.method === "GET" && r.path === `/apis/batch/v1/namespaces/${ns}/jobs` && !r.query.watch).length;
    const before = lists();
    cluster.dropWatches({ errorEvent: true, compact: true });
    cluster.controller.exit(ns, pod, 0);
    expect((await t.exit).exitCode).toBe(0);
    expect(lists()).toBeGreaterThan(before);
  });

  it("resuming from a compacted resourceVersion answers 410 Gone: re-list, re-watch, completion seen", async () => {
    const t = track();
    const { ref } = await backend().start(spec(), t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    await until(() => cluster.openWatches > 0);
    cluster.dropWatches({ compact: true });
    cluster.controller.exit(ns, pod, 0);
    expect((await t.exit).exitCode).toBe(0);
  });

  it("resumes from the resourceVersion of the last BOOKMARK after a server-side close", async () => {
    const t = track();
    const { ref } = await backend().start(spec(), t.handlers);
    await until(() => cluster.openWatches > 0);
    const watches = () => cluster.requests.filter((r) => r.query.watch === "true" && r.path.endsWith("/jobs"));
    expect(watches().at(-1)!.query).toMatchObject({ allowWatchBookmarks: "true", labelSelector: expect.stringContaining("app.kubernetes.io/managed-by=cairn") });
    cluster.createNamespace("cairn-elsewhere"); // unrelated changes move the resourceVersion on
    const rv = cluster.bookmark();
    await settle();
    const count = watches().length;
    cluster.dropWatches();
    await until(() => watches().length > count);
    expect(watches().at(-1)!.query.resourceVersion).toBe(rv);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.exit(ns, pod, 0);
    expect((await t.exit).exitCode).toBe(0);
  });
});

describe("cancel and recovery", () => {
  it("cancel deletes the Job in the background (its pod and Secret go with it) and reports cancelled", async () => {
    const s = spec();
    const t = track();
    const b = backend();
    const { ref } = await b.start(s, t.handlers);
    const name = jobNameOf(ref);
    const pod = await podOf(name);
    cluster.controller.run(ns, pod);
    await b.cancel(ref);
    expect(await t.exit).toEqual({ exitCode: null, signal: null, reason: "cancelled" });
    expect(cluster.requests.find((r) => r.method === "DELETE" && r.path.endsWith(`/jobs/${name}`))?.query).toMatchObject({ propagationPolicy: "Background" });
    expect(cluster.get("jobs", ns, name)).toBeUndefined();
    await until(() => !cluster.get("pods", ns, pod) && !cluster.get("secrets", ns, `${name}-env`));
    expect(readFileSync(s.logFile, "utf8")).toMatch(/=== attempt 1 ended \S+: cancelled\n$/);
    await settle();
    expect(t.exits).toHaveLength(1);
  });

  it("a new process finds a Job an earlier one started alive, kills it and waits until it is gone", async () => {
    const { ref } = await backend().start(spec(), track().handlers);
    const name = jobNameOf(ref);
    cluster.controller.run(ns, await podOf(name));
    const restarted = backend();
    expect(await restarted.isAlive(ref)).toBe(true);
    await restarted.kill(ref);
    expect(cluster.get("jobs", ns, name)).toBeUndefined();
    expect(cluster.controller.podsOf(ns, name)).toHaveLength(0);
    expect(await restarted.isAlive(ref)).toBe(false);
    await restarted.kill(ref); // already gone: nothing to do
    expect(await restarted.isAlive("pid:123:456")).toBe(false);
  });

  it("a finished Job is not alive", async () => {
    const t = track();
    const { ref } = await backend().start(spec(), t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.exit(ns, pod, 1);
    expect((await t.exit).exitCode).toBe(1);
    expect(await backend().isAlive(ref)).toBe(false);
  });

  it("createBackend('kubernetes') loads the kubeconfig named by KUBECONFIG", async () => {
    const file = path.join(dir, "kubeconfig.json");
    const kc = cluster.kubeConfig();
    writeFileSync(file, kc.exportConfig());
    const previous = process.env.KUBECONFIG;
    process.env.KUBECONFIG = file;
    try {
      const b = createBackend("kubernetes");
      expect(b.name).toBe("kubernetes");
      expect(await b.isAlive(`k8s:${ns}/cairn-job-00000000-1`)).toBe(false);
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
    }
  });
});
