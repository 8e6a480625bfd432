// Training jobs through the real scheduler on the kubernetes executor, against the local cluster (`npm run
// test:cluster`): a job becomes a batch/v1 Job in its team's namespace, the real scheduler puts its pod on a KWOK
// node (a GPU job on a node of the GPU type it asked for), KWOK ends the pod (scripts/cluster/kwok-stages.yaml: the
// executor's podAnnotations choose the outcome per attempt) and the job controller the Job — and Cairn's job
// status, exit code and events follow. Cancel deletes the Job with its pods, the API server's activeDeadlineSeconds
// ends a job as DeadlineExceeded, Cairn's retries are new Jobs (each with backoffLimit 0), the namespace's quota
// refusal shows on the waiting job (whose runtime starts when its pod runs), the init container's code download
// works with the token from the job's Secret until the job ends, and a restarted server deletes the Job the old one
// left running.
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { BatchV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { V1Job } from "@kubernetes/client-node";
import { eq, inArray } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apiTokens, jobs, runs, teams } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { resolveRequestActor } from "../auth/request-actor";
import { KubernetesBackend } from "../compute/kubernetes";
import { newRequestId } from "../context";
import { createExperiment } from "../tracking/experiments";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { converge, useBackend } from "../workers/testing";
import { getJobCode } from "./code";
import type { JobDto } from "./service";
import { cancelJob, getJobEvents, jobLogFile, submitJob } from "./service";
import { isFinal, waitForJob } from "./testing/wait";
import { until } from "@/server/testing/until";

const stateDir = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");
process.env.CAIRN_COMPUTE_BACKEND = "kubernetes";
process.env.KUBECONFIG = path.join(stateDir, "kubeconfig");

const db = demoDatabase();
// The demo's churn team, renamed for this run: its namespace is new, and deleted afterwards.
const team = `jobs-${randomBytes(3).toString("hex")}`;
const ns = `cairn-${team}`;
const kc = new KubeConfig();
let core: CoreV1Api;
let batch: BatchV1Api;
let scratch: string;

/** KWOK's outcome for a job's attempt: its pod template's annotations (none: the pod succeeds after a second). */
type Outcome = { exit?: number; runFor?: string };
const outcomes = new Map<string, (attempt: number) => Outcome>();

function useCluster(): KubernetesBackend {
  const backend = new KubernetesBackend({
    kubeConfig: kc, pollMs: 200, killPollMs: 100,
    podAnnotations: (s) => {
      const o = outcomes.get(s.jobId)?.(s.attempt) ?? {};
      const a: Record<string, string> = {};
      if (o.exit !== undefined) a["cairn.dev/simulate-exit"] = String(o.exit);
      if (o.runFor) a["cairn.dev/simulate-duration"] = o.runFor;
      return a;
    },
  });
  useBackend(db(), backend);
  return backend;
}


beforeAll(async () => {
  kc.loadFromFile(process.env.KUBECONFIG!);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  scratch = mkdtempSync(path.join(os.tmpdir(), "cairn-k8s-jobs-cluster-"));
  await db().update(teams).set({ slug: team, namespace: ns }).where(eq(teams.slug, "churn"));
  useCluster();
});

afterEach(async () => {
  const active = await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]));
  const admin = await ctxFor(db(), DEMO.admin);
  for (const j of active) await cancelJob(admin, j.id).catch(() => undefined);
  for (const j of active) await waitFor(j.id, isFinal).catch(() => undefined);
});

afterAll(async () => {
  await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

let seq = 0;
async function experiment(): Promise<string> {
  return (await createExperiment(await ctxFor(db(), DEMO.ds), { name: `k8s-cluster-${Date.now()}-${++seq}`, team })).experiment_id;
}

async function submit(body: Record<string, unknown>, outcome?: (attempt: number) => Outcome): Promise<JobDto> {
  const job = await submitJob(await ctxFor(db(), DEMO.ds), await experiment(), trainJobSchema.parse({ instance_type: "cpu.small", max_runtime_seconds: 600, command: ["python", "train.py"], ...body }));
  // Set before the first scheduler tick (there is no worker runtime here: waitFor ticks).
  if (outcome) outcomes.set(job.job_id, outcome);
  return job;
}

const waitFor = (id: string, done: (j: JobDto) => boolean, seconds = 60) => waitForJob(db(), id, done, { ms: seconds * 1000, every: 200 });
const jobName = (id: string, attempt = 1) => `cairn-job-${id.slice(0, 8)}-${attempt}`;
const readJob = (name: string) => batch.readNamespacedJob({ namespace: ns, name });
const podsOf = async (name: string) => (await core.listNamespacedPod({ namespace: ns, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
const conditions = (job: V1Job) => (job.status?.conditions ?? []).filter((c) => c.status === "True").map((c) => `${c.type}:${c.reason ?? ""}`);
const gone = async (read: () => Promise<unknown>) => read().then(() => false, (err: { code?: number }) => err.code === 404);

describe("jobs on the kubernetes executor, on a real cluster", () => {
  it("a job becomes a batch/v1 Job, its pod is scheduled on a KWOK node and succeeds, and the job ends succeeded with its events", async () => {
    const job = await submit({ source: "examples/churn" });
    const done = await waitFor(job.job_id, isFinal);
    expect(done).toMatchObject({ status: "succeeded", exit_code: 0, attempt: 1, message: null });
    const name = jobName(job.job_id);
    expect((await db().select({ backend: jobs.backend, ref: jobs.backendRef }).from(jobs).where(eq(jobs.id, job.job_id)))[0]).toEqual({ backend: "kubernetes", ref: `k8s:${ns}/${name}` });

    // The namespace the executor made on the team's first job, and the Job as the API server stored it.
    expect((await core.readNamespace({ name: ns })).metadata!.labels).toMatchObject({ "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": team });
    const stored = await readJob(name);
    expect(stored.metadata!.labels).toMatchObject({ "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": team, "cairn.dev/job": job.job_id, "cairn.dev/attempt": "1" });
    expect(stored.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600, completions: 1, parallelism: 1 });
    expect(stored.spec!.template.spec!.nodeSelector).toBeUndefined();
    expect(conditions(stored)).toContain("Complete:CompletionsReached");
    expect(stored.status).toMatchObject({ succeeded: 1 });

    // The real scheduler placed the pod on a KWOK node; KWOK ran the init container (the code fetch) and then main.
    const [pod] = await podsOf(name);
    expect(pod!.spec!.nodeName).toMatch(/^kwok-/);
    expect(pod!.status!.phase).toBe("Succeeded");
    expect(pod!.status!.initContainerStatuses![0]).toMatchObject({ name: "fetch-code", state: { terminated: { exitCode: 0 } } });
    expect(pod!.status!.containerStatuses![0]).toMatchObject({ name: "main", state: { terminated: { exitCode: 0, reason: "Completed" } } });
    // The job's credentials went with its end.
    expect(await gone(() => core.readNamespacedSecret({ namespace: ns, name: `${name}-env` }))).toBe(true);

    const events = await getJobEvents(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", "succeeded"]);
    expect((await db().select({ status: runs.status }).from(runs).where(eq(runs.id, job.run_id)))[0]!.status).toBe("FINISHED");
    expect(readFileSync(jobLogFile(job.job_id), "utf8")).toMatch(/=== attempt 1 ended \S+: exit code 0\n$/);
  });

  it("the init container's code download works with the job's token from the Secret, until the job ends", async () => {
    const job = await submit({ source: "examples/churn" }, () => ({ runFor: "1h" }));
    await waitFor(job.job_id, (j) => j.status === "running");
    const pod = await until("the pod", async () => (await podsOf(jobName(job.job_id))).find((p) => p.spec?.nodeName));
    // What the init container does in a real cluster: GET its CAIRN_CODE_URL with the token from the Secret, untar.
    const init = pod!.spec!.initContainers![0]!;
    const url = new URL(init.env!.find((e) => e.name === "CAIRN_CODE_URL")!.value!);
    const ref = init.env!.find((e) => e.name === "CAIRN_JOB_TOKEN")!.valueFrom!.secretKeyRef!;
    const secret = await core.readNamespacedSecret({ namespace: ns, name: ref.name! });
    const token = Buffer.from(secret.data![ref.key]!, "base64").toString();
    expect(url.pathname).toBe(`/api/v1/jobs/${job.job_id}/code`);
    const archive = path.join(scratch, "code.tar.gz");
    writeFileSync(archive, await downloadCode(url, token, job.job_id));
    const workspace = mkdtempSync(path.join(scratch, "workspace-"));
    execFileSync("tar", ["-xzf", archive, "-C", workspace]);
    expect(readFileSync(path.join(workspace, "train.mjs"), "utf8")).toBe(readFileSync(path.resolve("examples/churn/train.mjs"), "utf8"));
    // The job's token is revoked with the job's end.
    await cancelJob(await ctxFor(db(), DEMO.ds), job.job_id);
    await waitFor(job.job_id, isFinal);
    await expect(downloadCode(url, token, job.job_id)).rejects.toMatchObject({ code: "unauthenticated" });
  });

  it("a pod that exits non-zero fails the job with that exit code; the Job (backoffLimit 0) made one pod only", async () => {
    const job = await submit({}, () => ({ exit: 3 }));
    expect(await waitFor(job.job_id, isFinal)).toMatchObject({ status: "failed", exit_code: 3, attempt: 1 });
    const stored = await readJob(jobName(job.job_id));
    expect(conditions(stored)).toContain("Failed:BackoffLimitExceeded");
    expect(stored.status).toMatchObject({ failed: 1 });
    expect(await podsOf(jobName(job.job_id))).toHaveLength(1);
    expect((await getJobEvents(await ctxFor(db(), DEMO.ds), job.job_id)).map((e) => e.status)).toEqual(["queued", "admitted", "running", "failed"]);
  });

  it("retries are Cairn's own: a failed attempt is retried as a new Job named for attempt 2", async () => {
    const job = await submit({ retries: 1 }, (attempt) => (attempt === 1 ? { exit: 2 } : {}));
    expect(await waitFor(job.job_id, isFinal)).toMatchObject({ status: "succeeded", attempt: 2, exit_code: 0 });
    expect(conditions(await readJob(jobName(job.job_id, 1)))).toContain("Failed:BackoffLimitExceeded");
    expect(conditions(await readJob(jobName(job.job_id, 2)))).toContain("Complete:CompletionsReached");
    const events = await getJobEvents(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", "queued", "admitted", "running", "succeeded"]);
    expect(events[3]!.message).toContain("attempt 1 exited with code 2");
  });

  it("a GPU job runs on a node of the GPU type it asked for", async () => {
    const t4 = await submit({ instance_type: undefined, resources: { cpu: 2, memory_gib: 4, gpus: 1 } });
    const a100 = await submit({ instance_type: undefined, resources: { cpu: 2, memory_gib: 4, gpus: 2 } });
    for (const [job, type, gpus] of [[t4, "nvidia-t4", "1"], [a100, "nvidia-a100", "2"]] as const) {
      expect(await waitFor(job.job_id, isFinal)).toMatchObject({ status: "succeeded", resources: expect.objectContaining({ gpu_type: type }) });
      const name = jobName(job.job_id);
      expect((await readJob(name)).spec!.template.spec!.nodeSelector).toEqual({ "gpu-type": type });
      const [pod] = await podsOf(name);
      expect(pod!.spec!.containers[0]!.resources!.limits).toMatchObject({ "nvidia.com/gpu": gpus });
      const node = await core.readNode({ name: pod!.spec!.nodeName! });
      expect(node.metadata!.labels!["gpu-type"]).toBe(type);
    }
  });

  it("cancel deletes the Job with propagation: its pods go too, and the job ends cancelled", async () => {
    const job = await submit({}, () => ({ runFor: "1h" }));
    const name = jobName(job.job_id);
    await waitFor(job.job_id, (j) => j.status === "running");
    const pod = await until("the pod to run", async () => (await podsOf(name)).find((p) => p.status?.phase === "Running"));
    await cancelJob(await ctxFor(db(), DEMO.ds), job.job_id);
    expect((await waitFor(job.job_id, isFinal)).status).toBe("cancelled");
    expect(await until("the Job to be gone", () => gone(() => readJob(name)))).toBe(true);
    expect(await until("its pod to be gone", () => gone(() => core.readNamespacedPod({ namespace: ns, name: pod.metadata!.name! })))).toBe(true);
    expect(readFileSync(jobLogFile(job.job_id), "utf8")).toMatch(/=== attempt 1 ended \S+: cancelled\n$/);
  });

  it("the API server's activeDeadlineSeconds ends a job that runs too long (DeadlineExceeded): failed with the max-runtime message", async () => {
    const job = await submit({ max_runtime_seconds: 10 }, () => ({ runFor: "1h" }));
    const done = await waitFor(job.job_id, isFinal, 90);
    expect(done).toMatchObject({ status: "failed", message: "exceeded its max runtime of 10 s" });
    const stored = await readJob(jobName(job.job_id));
    expect(stored.spec!.activeDeadlineSeconds).toBe(10);
    expect(conditions(stored)).toContain("Failed:DeadlineExceeded");
    expect(readFileSync(jobLogFile(job.job_id), "utf8")).toMatch(/=== attempt 1 ended \S+: timeout\n$/);
  });

  it("the namespace's quota refusal shows on the waiting job, which runs once the quota has room", async () => {
    await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: "gpu-quota" }, spec: { hard: { "requests.nvidia.com/gpu": "0" } } } });
    try {
      await until("the quota controller to count", async () => (await core.readNamespacedResourceQuota({ namespace: ns, name: "gpu-quota" })).status?.used);
      const job = await submit({ instance_type: "gpu.small" });
      const waiting = await waitFor(job.job_id, (j) => j.message?.includes("exceeded quota") ?? false);
      const [before] = await db().select({ startedAt: jobs.startedAt, tokenId: jobs.tokenId }).from(jobs).where(eq(jobs.id, job.job_id));
      const [tokenBefore] = await db().select({ expiresAt: apiTokens.expiresAt }).from(apiTokens).where(eq(apiTokens.id, before!.tokenId!));
      await new Promise((r) => setTimeout(r, 1100));
      expect(waiting.status).toBe("running");
      expect(waiting.message).toMatch(/^waiting for the cluster: pods "cairn-job-[a-z0-9]+-1-[a-z0-9]{5}" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com\/gpu=1, used: requests.nvidia.com\/gpu=0, limited: requests.nvidia.com\/gpu=0$/);
      await core.replaceNamespacedResourceQuota({ namespace: ns, name: "gpu-quota", body: { metadata: { name: "gpu-quota" }, spec: { hard: { "requests.nvidia.com/gpu": "4" } } } });
      // The job controller retries the pod with its own back-off.
      expect(await waitFor(job.job_id, isFinal, 120)).toMatchObject({ status: "succeeded", message: null });
      // The wait is not runtime: the job's start (and its token's lifetime) moved to when the pod ran.
      const [after] = await db().select({ startedAt: jobs.startedAt }).from(jobs).where(eq(jobs.id, job.job_id));
      expect(after!.startedAt!.getTime() - before!.startedAt!.getTime()).toBeGreaterThanOrEqual(1000);
      const [tokenAfter] = await db().select({ expiresAt: apiTokens.expiresAt }).from(apiTokens).where(eq(apiTokens.id, before!.tokenId!));
      expect(tokenAfter!.expiresAt.getTime()).toBeGreaterThan(tokenBefore!.expiresAt.getTime());
    } finally {
      await core.deleteNamespacedResourceQuota({ namespace: ns, name: "gpu-quota" }).catch(() => undefined);
    }
  });

  it("after a restart, the Job the old server left running is deleted before the attempt is retried", async () => {
    const job = await submit({ retries: 1 }, (attempt) => (attempt === 1 ? { runFor: "1h" } : {}));
    const first = jobName(job.job_id, 1);
    await waitFor(job.job_id, (j) => j.status === "running");
    await until("the first pod to run", async () => (await podsOf(first)).some((p) => p.status?.phase === "Running"));
    useCluster(); // a new server process: a fresh executor that never saw the attempt
    expect(await converge(db())).toBe(1);
    expect(await gone(() => readJob(first))).toBe(true);
    expect(await podsOf(first)).toEqual([]);
    expect(await waitFor(job.job_id, isFinal)).toMatchObject({ status: "succeeded", attempt: 2 });
  });
});

/** What GET /api/v1/jobs/{id}/code does for the init container's request: the bearer token's actor, then the service. */
async function downloadCode(url: URL, token: string, id: string): Promise<Buffer> {
  const resolved = await resolveRequestActor(db(), new Request(url, { headers: { authorization: `Bearer ${token}` } }));
  if (!resolved) throw new Error("no actor");
  const { body } = await getJobCode({ actor: resolved.actor, db: db(), request: { id: newRequestId(), ip: "10.0.0.7" } }, id);
  return body instanceof Readable ? Buffer.concat(await body.toArray()) : Buffer.from(body);
}
