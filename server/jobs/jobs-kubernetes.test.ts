// Training jobs through the real scheduler on the kubernetes executor, against the in-test API server:
// a submitted job becomes a Job in the team namespace, its init container's download of the code works
// with the job's own token, the cluster's completion ends the job succeeded, a quota refusal shows on
// the job while it waits, failures retry as a new Job per attempt, cancel deletes the Job, and a
// restarted server converges what the old one left running. (The code route itself: app/api/v1/jobs/[id]/code.)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { eq, inArray } from "drizzle-orm";
import type { IPod } from "kubernetes-models/v1/Pod";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apiTokens, jobs, runs } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { resolveRequestActor } from "../auth/request-actor";
import { KubernetesBackend } from "../compute/kubernetes";
import { newRequestId } from "../context";
import { FakeCluster } from "../compute/testing/fake-k8s";
import { createExperiment } from "../tracking/experiments";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { getJobCode } from "./code";
import type { JobDto } from "./service";
import { cancelJob, getJobEvents, jobLogFile, submitJob } from "./service";
import { converge, useBackend } from "../workers/testing";
import { isFinal, waitForJob } from "./testing/wait";

const db = demoDatabase();
const ns = "cairn-churn";
let cluster: FakeCluster;
let scratch: string;

function useCluster(): KubernetesBackend {
  const backend = new KubernetesBackend({ kubeConfig: cluster.kubeConfig(), pollMs: 100, killPollMs: 20 });
  useBackend(db(), backend);
  return backend;
}

beforeAll(async () => {
  cluster = new FakeCluster();
  await cluster.listen();
  scratch = mkdtempSync(path.join(os.tmpdir(), "cairn-k8s-jobs-"));
  useCluster();
});

afterAll(async () => {
  await cluster.close();
  rmSync(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  const active = await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]));
  const admin = await ctxFor(db(), DEMO.admin);
  for (const j of active) await cancelJob(admin, j.id).catch(() => undefined);
  for (const j of active) await waitFor(j.id, final).catch(() => undefined);
});

let seq = 0;
async function experiment(email: string = DEMO.ds, team = "churn"): Promise<string> {
  return (await createExperiment(await ctxFor(db(), email), { name: `k8s-jobs-${Date.now()}-${++seq}`, team })).experiment_id;
}

async function submit(email: string, exp: string, body: Record<string, unknown>): Promise<JobDto> {
  return submitJob(await ctxFor(db(), email), exp, trainJobSchema.parse({ instance_type: "cpu.small", max_runtime_seconds: 600, ...body }));
}

const final = isFinal;
const waitFor = (id: string, done: (j: JobDto) => boolean, ms = 10_000) => waitForJob(db(), id, done, { ms, every: 50 });

async function jobOf(id: string, attempt = 1): Promise<{ name: string; pod: string }> {
  const name = `cairn-job-${id.slice(0, 8)}-${attempt}`;
  await waitFor(id, () => cluster.controller.podsOf(ns, name).length > 0);
  return { name, pod: cluster.controller.podsOf(ns, name)[0]!.metadata.name };
}

describe("jobs on the kubernetes executor", () => {
  it("runs a submitted example as a Job: the init container's code download works with the job's token, and the cluster's completion ends the job succeeded", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { source: "examples/churn" });
    const { name, pod } = await jobOf(job.job_id);
    const [row] = await db().select({ backend: jobs.backend, ref: jobs.backendRef }).from(jobs).where(eq(jobs.id, job.job_id));
    expect(row).toEqual({ backend: "kubernetes", ref: `k8s:${ns}/${name}` });

    // What the init container does in a real cluster: GET its CAIRN_CODE_URL with the token from the Secret, untar.
    const init = (cluster.get("pods", ns, pod) as unknown as IPod).spec!.initContainers![0]!;
    const url = new URL(init.env!.find((e) => e.name === "CAIRN_CODE_URL")!.value!);
    const ref = init.env!.find((e) => e.name === "CAIRN_JOB_TOKEN")!.valueFrom!.secretKeyRef!;
    const secret = cluster.get("secrets", ns, ref.name!)!;
    const token = Buffer.from((secret.data as Record<string, string>)[ref.key]!, "base64").toString();
    expect(url.pathname).toBe(`/api/v1/jobs/${job.job_id}/code`);
    const archive = path.join(scratch, "code.tar.gz");
    writeFileSync(archive, await downloadCode(url, token, job.job_id));
    const workspace = mkdtempSync(path.join(scratch, "workspace-"));
    execFileSync("tar", ["-xzf", archive, "-C", workspace]);
    expect(readFileSync(path.join(workspace, "train.mjs"), "utf8")).toBe(readFileSync(path.resolve("examples/churn/train.mjs"), "utf8"));

    cluster.controller.run(ns, pod);
    cluster.controller.print(ns, pod, "epoch 1 val_auc 0.81\nmodel logged");
    cluster.controller.exit(ns, pod, 0);
    const done = await waitFor(job.job_id, final);
    expect(done).toMatchObject({ status: "succeeded", exit_code: 0, attempt: 1 });
    expect(readFileSync(jobLogFile(job.job_id), "utf8")).toMatch(/=== attempt 1 started .*\nepoch 1 val_auc 0.81\nmodel logged\n=== attempt 1 ended \S+: exit code 0\n$/);
    const [run] = await db().select({ status: runs.status }).from(runs).where(eq(runs.id, job.run_id));
    expect(run!.status).toBe("FINISHED");
    // The job's token is revoked with the job's end.
    await expect(downloadCode(url, token, job.job_id)).rejects.toMatchObject({ code: "unauthenticated" });
  });

  it("shows the cluster's quota refusal on the running job while it waits, then runs when the quota has room", async () => {
    cluster.createNamespace(ns);
    cluster.controller.setQuota(ns, "team-quota", { "requests.nvidia.com/gpu": "0" });
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { instance_type: "gpu.small", command: ["python", "train.py"] });
    const waiting = await waitFor(job.job_id, (j) => j.message?.includes("exceeded quota") ?? false);
    expect(waiting.status).toBe("running");
    expect(waiting.message).toMatch(/forbidden: exceeded quota: team-quota, requested: requests.nvidia.com\/gpu=1, used: requests.nvidia.com\/gpu=0, limited: requests.nvidia.com\/gpu=0$/);
    const [before] = await db().select({ startedAt: jobs.startedAt, tokenId: jobs.tokenId }).from(jobs).where(eq(jobs.id, job.job_id));
    const [tokenBefore] = await db().select({ expiresAt: apiTokens.expiresAt }).from(apiTokens).where(eq(apiTokens.id, before!.tokenId!));
    await new Promise((r) => setTimeout(r, 1100));
    cluster.controller.setQuota(ns, "team-quota", { "requests.nvidia.com/gpu": "8" });
    const { pod } = await jobOf(job.job_id);
    cluster.controller.run(ns, pod);
    // The wait is not runtime: the job's start (and its token's lifetime) move to when the pod ran.
    for (let i = 0; i < 100; i++) {
      const [now] = await db().select({ startedAt: jobs.startedAt }).from(jobs).where(eq(jobs.id, job.job_id));
      if (now!.startedAt!.getTime() > before!.startedAt!.getTime()) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const [after] = await db().select({ startedAt: jobs.startedAt }).from(jobs).where(eq(jobs.id, job.job_id));
    expect(after!.startedAt!.getTime() - before!.startedAt!.getTime()).toBeGreaterThanOrEqual(1000);
    const [tokenAfter] = await db().select({ expiresAt: apiTokens.expiresAt }).from(apiTokens).where(eq(apiTokens.id, before!.tokenId!));
    expect(tokenAfter!.expiresAt.getTime()).toBeGreaterThan(tokenBefore!.expiresAt.getTime());
    cluster.controller.exit(ns, pod, 0);
    expect(await waitFor(job.job_id, final)).toMatchObject({ status: "succeeded", message: null });
  });

  it("retries a failed attempt as a new Job named for attempt 2, and reports the exit code", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { command: ["python", "train.py"], retries: 1 });
    const first = await jobOf(job.job_id, 1);
    cluster.controller.run(ns, first.pod);
    cluster.controller.exit(ns, first.pod, 2);
    const second = await jobOf(job.job_id, 2);
    expect(second.name).toBe(`cairn-job-${job.job_id.slice(0, 8)}-2`);
    cluster.controller.run(ns, second.pod);
    cluster.controller.exit(ns, second.pod, 0);
    expect(await waitFor(job.job_id, final)).toMatchObject({ status: "succeeded", attempt: 2 });
    const events = await getJobEvents(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", "queued", "admitted", "running", "succeeded"]);
    expect(events[3]!.message).toContain("attempt 1 exited with code 2");
  });

  it("a deadline the cluster enforces fails the job with the max-runtime message", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { command: ["sleep", "infinity"], max_runtime_seconds: 30 });
    const { name, pod } = await jobOf(job.job_id);
    expect((cluster.get("jobs", ns, name)!.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds).toBe(30);
    cluster.controller.run(ns, pod);
    cluster.controller.exceedDeadline(ns, name);
    expect(await waitFor(job.job_id, final)).toMatchObject({ status: "failed", message: "exceeded its max runtime of 30 s" });
  });

  it("cancel deletes the Job and the job ends cancelled", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { command: ["sleep", "infinity"] });
    const { name, pod } = await jobOf(job.job_id);
    cluster.controller.run(ns, pod);
    await cancelJob(await ctxFor(db(), DEMO.ds), job.job_id);
    expect((await waitFor(job.job_id, final)).status).toBe("cancelled");
    expect(cluster.get("jobs", ns, name)).toBeUndefined();
    expect(cluster.requests.find((r) => r.method === "DELETE" && r.path.endsWith(`/jobs/${name}`))?.query.propagationPolicy).toBe("Background");
  });

  it("after a restart, the Job the old server left running is deleted before the attempt is retried", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { command: ["python", "train.py"], retries: 1 });
    const first = await jobOf(job.job_id, 1);
    cluster.controller.run(ns, first.pod);
    useCluster(); // a new server process: a fresh executor that never saw the attempt
    expect(await converge(db())).toBe(1);
    expect(cluster.get("jobs", ns, first.name)).toBeUndefined();
    const second = await jobOf(job.job_id, 2);
    cluster.controller.run(ns, second.pod);
    cluster.controller.exit(ns, second.pod, 0);
    expect(await waitFor(job.job_id, final)).toMatchObject({ status: "succeeded", attempt: 2 });
  });
});

/** What GET /api/v1/jobs/{id}/code does for the init container's request: the bearer token's actor, then the service. */
async function downloadCode(url: URL, token: string, id: string): Promise<Buffer> {
  const resolved = await resolveRequestActor(db(), new Request(url, { headers: { authorization: `Bearer ${token}` } }));
  if (!resolved) throw new Error("no actor");
  const { body } = await getJobCode({ actor: resolved.actor, db: db(), request: { id: newRequestId(), ip: "10.0.0.7" } }, id);
  return body instanceof Readable ? Buffer.concat(await body.toArray()) : Buffer.from(body);
}
