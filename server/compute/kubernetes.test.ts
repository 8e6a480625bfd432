// The kubernetes executor against the in-test API server, for what the local cluster cannot produce on demand:
// pod output (KWOK serves no logs) and a dropped log follow, an image pull that fails, a cluster without Kueue, and
// a watch that expires, is compacted or closes. Everything else — the Job and Secret as stored, exit codes,
// deadlines, adoption, quota refusals, Kueue, cancel and recovery — runs on a real control plane:
// kubernetes.cluster.test.ts and server/jobs/jobs-kubernetes.cluster.test.ts (`npm run test:cluster`).
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AttemptHandlers, ExitInfo, LaunchSpec } from "./backend";
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

// Fake: KWOK runs no containers and serves no pod logs, so the output a job prints exists only here.
describe("an attempt's output", () => {
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

  // Fake: a log connection dropped mid-follow.
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

  // Fake: KWOK pulls no images, so it cannot make one fail.
  it("shows why a pod cannot start (an image that cannot be pulled)", async () => {
    const t = track();
    const { ref } = await backend().start(spec({ image: "registry.invalid/nope:1" }), t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.wait(ns, pod, "ImagePullBackOff", 'Back-off pulling image "registry.invalid/nope:1"');
    await until(() => t.messages.find((m) => m.text.includes("ImagePullBackOff")));
  });
});

// Fake: the local cluster serves Kueue (npm run cluster starts it), so a cluster without it is the in-test server's.
describe("Kueue", () => {
  it("without Kueue the Job is neither labelled for a queue nor suspended", async () => {
    await backend().start(spec(), track().handlers);
    const body = posted("jobs").at(-1)!.body as IJob;
    expect(body.metadata!.labels).not.toHaveProperty("kueue.x-k8s.io/queue-name");
    expect(body.spec!.suspend ?? false).toBe(false); // (the recorded body carries the server's defaulting)
  });
});

// Fake: a watch ended by an ERROR 410, a compacted resourceVersion or a server-side close, at a moment the test chooses.
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


// Fake: KWOK runs no metrics-server, and no container is ever OOMKilled there.
describe("resource usage and out-of-memory kills", () => {
  afterEach(() => {
    cluster.podMetrics = null;
  });

  it("says pod metrics are not available when the cluster does not serve metrics.k8s.io", async () => {
    const s = spec();
    const t = track();
    const b = backend();
    const { ref } = await b.start(s, t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    expect(await b.usage(ref)).toEqual({ source: "unavailable", reason: expect.stringContaining("pod metrics are not available on this cluster") });
    cluster.controller.exit(ns, pod, 0);
    await t.exit;
  });

  it("reads the attempt's pods from metrics.k8s.io when it is served, and nothing before they are measured", async () => {
    cluster.podMetrics = new Map();
    const s = spec();
    const t = track();
    const b = backend();
    const { ref } = await b.start(s, t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    expect(await b.usage(ref)).toBeNull();
    cluster.podMetrics.set(pod, { cpu: "1500000000n", memory: "512Mi" });
    expect(await b.usage(ref)).toEqual({ source: "pod-metrics", cpuCores: 1.5, memoryBytes: 512 * 1024 * 1024 });
    cluster.podMetrics.set(pod, { cpu: "250m", memory: "1Gi" });
    expect(await b.usage(ref)).toEqual({ source: "pod-metrics", cpuCores: 0.25, memoryBytes: 1024 ** 3 });
    cluster.controller.exit(ns, pod, 0);
    await t.exit;
  });

  it("reports an OOMKilled container as such", async () => {
    const s = spec();
    const t = track();
    const { ref } = await backend().start(s, t.handlers);
    const pod = await podOf(jobNameOf(ref));
    cluster.controller.run(ns, pod);
    cluster.controller.exit(ns, pod, 137, "OOMKilled");
    expect(await t.exit).toEqual({ exitCode: 137, signal: null, oomKilled: true });
  });
});
