// Training jobs end to end on the local executor: validation, quota admission (fits, queues with a
// reason, refused, priority, concurrent submits), real child processes (success, failure, retries,
// cancel of the whole process group, deadline), the job's environment and token, and recovery after a
// restart.
import { readFileSync } from "node:fs";
import { and, eq, inArray } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { apiTokens, jobs, memberships, runs, teamQuotas, teams, users } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { createExperiment } from "../tracking/experiments";
import { ctxFor, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { addMember, removeMember } from "../teams/admin";
import { LocalBackend } from "../compute/local";
import type { JobDto } from "./service";
import { cancelJob, getJob, getJobEvents, jobLogFile, submitJob } from "./service";
import { converge, tick, useBackend } from "../workers/testing";
import { alive, handlePid, processesOf, sandboxUid } from "./testing/processes";
import { isFinal, waitForJob } from "./testing/wait";
import { jobChangeStream } from "./stream";

const db = demoDatabase();

const node = (code: string) => [process.execPath, "-e", code];
const SLEEP = "setInterval(() => {}, 1000)";

let seq = 0;
async function experiment(email: string = DEMO.ds, team = "churn"): Promise<string> {
  const ctx = await ctxFor(db(), email);
  return (await createExperiment(ctx, { name: `jobs-${Date.now()}-${++seq}`, team })).experiment_id;
}

async function submit(email: string, exp: string, body: Record<string, unknown>): Promise<JobDto> {
  return submitJob(await ctxFor(db(), email), exp, trainJobSchema.parse({ instance_type: "cpu.small", max_runtime_seconds: 60, ...body }));
}

/** The job as the scheduler's next pass leaves it (a submit only commits the job, queued). */
async function afterPass(job: JobDto): Promise<JobDto> {
  await tick(db());
  return getJob(await ctxFor(db(), DEMO.admin), job.job_id);
}

const waitFor = (id: string, done: (j: JobDto) => boolean, ms = 20_000) => waitForJob(db(), id, done, { ms, every: 100 });
const final = isFinal;

async function setQuota(team: string, q: Partial<typeof teamQuotas.$inferInsert>): Promise<void> {
  const [t] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, team));
  await db().update(teamQuotas).set(q).where(eq(teamQuotas.teamId, t!.id));
}

afterEach(async () => {
  // Leave nothing running for the next test: cancel every active job and wait for it.
  const active = await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]));
  const lead = await ctxFor(db(), DEMO.admin);
  for (const j of active) await cancelJob(lead, j.id).catch(() => undefined);
  for (const j of active) await waitFor(j.id, final).catch(() => undefined);
  await setQuota("churn", { cpu: 64, memoryGib: 256, gpus: 8, maxConcurrentJobs: 10 });
});

describe("submitting", () => {
  it("refuses bad specs with messages a user can act on, and creates nothing", async () => {
    const exp = await experiment();
    const before = (await db().select({ id: jobs.id }).from(jobs)).length;
    await expect(submit(DEMO.ds, exp, { instance_type: "gpu.large", gpus: 5, command: ["true"] })).rejects.toThrow("gpu.large has 4 GPUs; you asked for 5");
    await expect(submit(DEMO.ds, exp, { instance_type: "tpu.huge", command: ["true"] })).rejects.toThrow(/Unknown instance type "tpu.huge". Choose one of/);
    await expect(submit(DEMO.ds, exp, { source: "examples/nope" })).rejects.toThrow(/no built-in example "examples\/nope"/);
    await expect(submit(DEMO.ds, exp, { source: "../etc" })).rejects.toThrow(/Unknown code source/);
    await expect(submit(DEMO.ds, exp, {})).rejects.toThrow(/Give a command to run/);
    expect(() => trainJobSchema.parse({ command: ["x"], env: { DATABASE_URL: "x" } })).toThrow(/set by Cairn \(or is a server secret\)/);
    expect(() => trainJobSchema.parse({ command: ["x"], env: { MLFLOW_TRACKING_TOKEN: "x" } })).toThrow(/set by Cairn/);
    expect(() => trainJobSchema.parse({ command: ["x"], namespace: "kube-system" })).toThrow(/namespace/);
    await setQuota("churn", { gpus: 2 });
    await expect(submit(DEMO.ds, exp, { instance_type: "gpu.large", command: ["true"] })).rejects.toMatchObject({
      code: "quota_exceeded", message: expect.stringContaining("the job needs 4 GPUs; team churn's quota is 2 GPUs"),
    });
    expect((await db().select({ id: jobs.id }).from(jobs)).length).toBe(before);
  });

  it("refuses training in another team's experiment as not found (its existence is not revealed)", async () => {
    const exp = await experiment(DEMO.ds, "churn");
    await expect(submit(DEMO.dsFraud, exp, { command: ["true"] })).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("the local executor", () => {
  it("runs the command in its own run, with the tracking variables and no server secret, then revokes its token", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, {
      command: node("console.log(JSON.stringify(process.env)); console.log('done training')"),
      env: { LEARNING_RATE: "0.1" },
    });
    expect(job).toMatchObject({ experiment_id: exp, resources: { cpu: 2, memory_gib: 4, gpus: 0, instance_type: "cpu.small" }, hourly_price_usd: 0.1 });
    const done = await waitFor(job.job_id, final);
    expect(done).toMatchObject({ status: "succeeded", exit_code: 0, attempt: 1 });
    const log = readFileSync(jobLogFile(job.job_id), "utf8");
    expect(log).toContain("done training");
    const childEnv = JSON.parse(log.split("\n").find((l) => l.startsWith("{"))!) as Record<string, string>;
    expect(childEnv).toMatchObject({ MLFLOW_EXPERIMENT_ID: exp, MLFLOW_RUN_ID: job.run_id, CAIRN_JOB_ID: job.job_id, LEARNING_RATE: "0.1" });
    expect(childEnv.MLFLOW_TRACKING_URI).toMatch(/^http:\/\//);
    expect(childEnv.MLFLOW_TRACKING_TOKEN).toMatch(/^cairn_/);
    for (const secret of ["DATABASE_URL", "NEXTAUTH_SECRET", "CAIRN_DATA_DIR", "CAIRN_TEST_PG_URL", "OIDC_CLIENT_SECRET"]) expect(childEnv).not.toHaveProperty(secret);
    const [row] = await db().select({ tokenId: jobs.tokenId }).from(jobs).where(eq(jobs.id, job.job_id));
    const [token] = await db().select({ revokedAt: apiTokens.revokedAt }).from(apiTokens).where(eq(apiTokens.id, row!.tokenId!));
    expect(token!.revokedAt).not.toBeNull();
    const [run] = await db().select({ status: runs.status, endTime: runs.endTime }).from(runs).where(eq(runs.id, job.run_id));
    expect(run).toMatchObject({ status: "FINISHED" });
    expect(run!.endTime).not.toBeNull();
    const events = await getJobEvents(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", "succeeded"]);
  });

  it("fails on a non-zero exit, retrying while attempts are left", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { command: node("console.log('attempt', process.env.CAIRN_JOB_ATTEMPT); process.exit(3)"), retries: 1 });
    const done = await waitFor(job.job_id, final);
    expect(done).toMatchObject({ status: "failed", exit_code: 3, attempt: 2, message: "exited with code 3" });
    const log = readFileSync(jobLogFile(job.job_id), "utf8");
    expect(log).toContain("attempt 1");
    expect(log).toContain("attempt 2");
    const [run] = await db().select({ status: runs.status }).from(runs).where(eq(runs.id, job.run_id));
    expect(run!.status).toBe("FAILED");
    const events = await getJobEvents(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", "queued", "admitted", "running", "failed"]);
  });

  it("a cancel that arrives while the process is being started still stops it", async () => {
    // An executor whose start waits for the test: the job is "running" with no process handle yet.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const starting = new Promise<void>((r) => (entered = r));
    class GatedBackend extends LocalBackend {
      override async start(...args: Parameters<LocalBackend["start"]>): ReturnType<LocalBackend["start"]> {
        entered();
        await gate;
        return super.start(...args);
      }
    }
    const before = useBackend(db(), new GatedBackend());
    try {
      const exp = await experiment();
      await submit(DEMO.ds, exp, { command: node(SLEEP) });
      // A scheduler pass, which now waits in the executor's start: don't wait for it yet.
      const submitted = tick(db());
      await starting;
      const [row] = await db().select({ id: jobs.id, status: jobs.status, ref: jobs.backendRef }).from(jobs).where(eq(jobs.experimentId, Number(exp)));
      expect(row).toMatchObject({ status: "running", ref: null });
      await cancelJob(await ctxFor(db(), DEMO.ds), row!.id);
      release();
      await submitted;
      const done = await waitFor(row!.id, final, 10_000);
      expect(done.status).toBe("cancelled");
    } finally {
      release();
      useBackend(db(), before);
    }
  });

  it("cancel kills the whole process group", async () => {
    const exp = await experiment();
    // The job starts a grandchild that would outlive a plain kill of the leader.
    const job = await submit(DEMO.ds, exp, {
      command: node(`const c = require('child_process').spawn(process.execPath, ['-e', '${SLEEP}'], { stdio: 'ignore' }); console.log('grandchild=' + c.pid); ${SLEEP}`),
    });
    const pidIn = (id: string) => /grandchild=(\d+)/.exec(readFileSync(jobLogFile(id), "utf8"))?.[1];
    await waitFor(job.job_id, (j) => j.status === "running" && pidIn(j.job_id) !== undefined);
    const uid = sandboxUid(readFileSync(jobLogFile(job.job_id), "utf8"));
    const [handle] = await db().select({ ref: jobs.backendRef }).from(jobs).where(eq(jobs.id, job.job_id));
    const leader = handlePid(handle!.ref);
    const grandchild = Number(pidIn(job.job_id)); // the job's own pid namespace's number when it is sandboxed
    const cancelled = await cancelJob(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(["running", "cancelled"]).toContain(cancelled.status);
    const done = await waitFor(job.job_id, final);
    expect(done.status).toBe("cancelled");
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(leader)).toBe(false);
    if (uid !== null) expect(processesOf(uid)).toEqual([]);
    else expect(alive(grandchild)).toBe(false);
    const [run] = await db().select({ status: runs.status }).from(runs).where(eq(runs.id, job.run_id));
    expect(run!.status).toBe("KILLED");
  });

  it("stops a job at its max runtime", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { command: node(SLEEP), max_runtime_seconds: 10 });
    await waitFor(job.job_id, (j) => j.status === "running");
    const done = await waitFor(job.job_id, final, 25_000);
    expect(done).toMatchObject({ status: "failed", message: "exceeded its max runtime of 10 s" });
  });

  it("only the submitter or a team lead may cancel", async () => {
    const exp = await experiment(DEMO.mle);
    const job = await submit(DEMO.mle, exp, { command: node(SLEEP) });
    await expect(cancelJob(await ctxFor(db(), DEMO.ds), job.job_id)).rejects.toMatchObject({ code: "forbidden" });
    await expect(cancelJob(await ctxFor(db(), DEMO.dsFraud), job.job_id)).rejects.toMatchObject({ code: "not_found" });
    await cancelJob(await ctxFor(db(), DEMO.lead), job.job_id);
    expect((await waitFor(job.job_id, final)).status).toBe("cancelled");
  });
});

describe("admission", () => {
  it("queues work over the quota with the reason, and admits it when usage falls", async () => {
    await setQuota("churn", { gpus: 2 });
    const exp = await experiment();
    const first = await afterPass(await submit(DEMO.ds, exp, { instance_type: "gpu.large", gpus: 2, command: node(SLEEP) }));
    expect(["admitted", "running"]).toContain(first.status);
    const second = await afterPass(await submit(DEMO.ds, exp, { instance_type: "gpu.large", gpus: 2, command: node("console.log('second ran')") }));
    expect(second).toMatchObject({ status: "queued", queue_reason: "waiting for 2 GPUs: team churn uses 2 of 2" });
    await cancelJob(await ctxFor(db(), DEMO.ds), first.job_id);
    expect((await waitFor(second.job_id, final)).status).toBe("succeeded");
  });

  it("admits by priority within a team, and one team's queue never holds back another team", async () => {
    await setQuota("churn", { maxConcurrentJobs: 1 });
    const exp = await experiment();
    const blocker = await afterPass(await submit(DEMO.ds, exp, { command: node(SLEEP) }));
    const low = await afterPass(await submit(DEMO.ds, exp, { command: node("0"), priority: "low" }));
    const high = await afterPass(await submit(DEMO.ds, exp, { command: node("0"), priority: "high" }));
    expect(low.status).toBe("queued");
    expect(high.queue_reason).toBe("waiting for a job slot: team churn runs 1 of 1 concurrent jobs");
    expect((await getJob(await ctxFor(db(), DEMO.ds), low.job_id)).queue_reason).toMatch(/^queued behind job/);
    const fraud = await afterPass(await submit(DEMO.dsFraud, await experiment(DEMO.dsFraud, "fraud"), { command: node("0") }));
    expect(fraud.status).not.toBe("queued");
    await cancelJob(await ctxFor(db(), DEMO.ds), blocker.job_id);
    const h = await waitFor(high.job_id, final);
    const l = await waitFor(low.job_id, final);
    expect(new Date(h.started_at!).getTime()).toBeLessThanOrEqual(new Date(l.started_at!).getTime());
  });

  it("never oversubscribes under concurrent submits", async () => {
    await setQuota("churn", { gpus: 4 });
    const exp = await experiment();
    const submitted = await Promise.all(Array.from({ length: 8 }, () => submit(DEMO.ds, exp, { instance_type: "gpu.small", command: node(SLEEP) })));
    await tick(db());
    const active = await db().select({ gpus: jobs.gpus }).from(jobs).where(inArray(jobs.status, ["admitted", "running"]));
    expect(active.reduce((s, j) => s + j.gpus, 0)).toBe(4);
    const ctx = await ctxFor(db(), DEMO.ds);
    const states = await Promise.all(submitted.map((j) => getJob(ctx, j.job_id)));
    const reasons = states.filter((j) => j.status === "queued").map((j) => j.queue_reason);
    expect(reasons).toHaveLength(4);
    expect(reasons.filter((r) => r === "waiting for 1 GPU: team churn uses 4 of 4")).toHaveLength(1);
    expect(reasons.filter((r) => r?.startsWith("queued behind job"))).toHaveLength(3);
  });
});

describe("status stream", () => {
  it("pushes every status change of the caller's jobs, and none of another team's", async () => {
    const abort = new AbortController();
    // The stream checks its caller again as it runs, from the request's credentials.
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const req = new Request("http://localhost/api/v1/jobs/events", { signal: abort.signal, headers: { authorization: `Bearer ${token}` } });
    const res = await jobChangeStream(await ctxFor(db(), DEMO.ds), req, {});
    const reader = res.body!.getReader();
    const seen: { job_id: string; status: string }[] = [];
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { command: node("0") });
    await submit(DEMO.dsFraud, await experiment(DEMO.dsFraud, "fraud"), { command: node("0") });
    const decoder = new TextDecoder();
    let buffer = "";
    while (!seen.some((e) => e.job_id === job.job_id && e.status === "succeeded")) {
      await tick(db());
      const { value, done } = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no event; saw ${JSON.stringify(seen)}`)), 10_000))]);
      if (done) break;
      buffer += decoder.decode(value);
      for (const m of buffer.matchAll(/event: job\ndata: (.*)\n\n/g)) seen.push(JSON.parse(m[1]!) as { job_id: string; status: string });
      buffer = buffer.slice(buffer.lastIndexOf("\n\n") + 2);
    }
    abort.abort();
    expect(seen.filter((e) => e.job_id === job.job_id).map((e) => e.status)).toEqual(["queued", "admitted", "running", "succeeded"]);
    expect(seen.every((e) => e.job_id === job.job_id)).toBe(true);
  });

  it("stops telling a member removed from the team about its jobs, and closes", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    // An account of its own (accounts come from invitations or single sign-on), added to churn by the lead.
    const email = `leaving-${Date.now()}@example.com`;
    await db().insert(users).values({ email, name: "Leaving" });
    const member = await addMember(lead, "churn", { email, role: "data_scientist" });
    const token = await tokenFor(db(), member.email, "churn");
    const req = new Request("http://localhost/api/v1/jobs/events", { headers: { authorization: `Bearer ${token}` } });
    const res = await jobChangeStream(await ctxFor(db(), member.email), req, {});
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const exp = await experiment();
    await submit(DEMO.ds, exp, { command: node("0") });
    let text = "";
    while (!text.includes("event: job")) text += decoder.decode((await reader.read()).value);
    await removeMember(lead, "churn", member.user_id);
    const removedAt = Date.now();
    // Within the stream's re-check it hears nothing more of churn, and ends. Churn keeps making news meanwhile
    // (a job every 300 ms, a bounded number: one per chunk read would feed itself on a slow machine).
    let after = "";
    let news = 0;
    const busy = setInterval(() => { if (news++ < 30) void submit(DEMO.ds, exp, { command: node("0") }).catch(() => undefined); }, 300);
    try {
      for (;;) {
        const { value, done } = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the stream stayed open")), 10_000))]);
        if (done) break;
        const chunk = decoder.decode(value);
        if (Date.now() - removedAt > 2_500) after += chunk;
      }
    } finally {
      clearInterval(busy);
    }
    expect(after).not.toContain("event: job");
    expect(Date.now() - removedAt).toBeLessThan(5_000);
  });
});

describe("recovery after a restart", () => {
  it("stops the surviving process before retrying, so an attempt never runs twice at once", async () => {
    const exp = await experiment();
    const job = await submit(DEMO.ds, exp, { command: node(`console.log('attempt', process.env.CAIRN_JOB_ATTEMPT, 'pid', process.pid); if (process.env.CAIRN_JOB_ATTEMPT === '1') ${SLEEP}`), retries: 1 });
    const pidIn = (id: string) => /attempt 1 pid (\d+)/.exec(readFileSync(jobLogFile(id), "utf8"))?.[1];
    await waitFor(job.job_id, (j) => j.status === "running" && pidIn(j.job_id) !== undefined);
    // The pid the job prints is its own pid namespace's; the host's pid of the attempt is in its handle.
    const [handle] = await db().select({ ref: jobs.backendRef }).from(jobs).where(eq(jobs.id, job.job_id));
    const firstPid = handlePid(handle!.ref);
    // A new server process: a fresh executor that never saw the running attempt.
    useBackend(db(), new LocalBackend());
    expect(await converge(db())).toBe(1);
    expect(alive(firstPid)).toBe(false);
    const done = await waitFor(job.job_id, final);
    expect(done).toMatchObject({ status: "succeeded", attempt: 2 });
    // (In this single process the old attempt's own exit handler may record the kill first; either way
    // the attempt is retried exactly once, after the old process is gone.)
    const events = await getJobEvents(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", "queued", "admitted", "running", "succeeded"]);
  });
});

describe("a member removed while their job waits", () => {
  it("gets no job token: the job fails with the reason instead of acting for them", async () => {
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const [quota] = await db().select({ max: teamQuotas.maxConcurrentJobs }).from(teamQuotas).where(eq(teamQuotas.teamId, churn!.id));
    await setQuota("churn", { maxConcurrentJobs: 1 });
    // Another member's job holds the team's only slot, so the data scientist's job waits in the queue.
    const blocker = await submit(DEMO.mle, await experiment(DEMO.mle), { command: node(SLEEP) });
    await waitFor(blocker.job_id, (j) => j.status === "running");
    const job = await submit(DEMO.ds, await experiment(), { command: node("console.log('ran')") });
    expect(job.status).toBe("queued");
    const [ds] = await db().select({ id: users.id }).from(users).where(eq(users.email, DEMO.ds));
    const [membership] = await db().delete(memberships).where(and(eq(memberships.userId, ds!.id), eq(memberships.teamId, churn!.id))).returning();
    try {
      await cancelJob(await ctxFor(db(), DEMO.mle), blocker.job_id);
      await waitFor(blocker.job_id, final);
      const done = await waitFor(job.job_id, final);
      expect(done).toMatchObject({ status: "failed", message: expect.stringContaining("no longer a member of its team") });
      const [row] = await db().select({ tokenId: jobs.tokenId }).from(jobs).where(eq(jobs.id, job.job_id));
      expect(row!.tokenId).toBeNull();
    } finally {
      await db().insert(memberships).values(membership!).onConflictDoNothing();
      await setQuota("churn", { maxConcurrentJobs: quota!.max });
    }
  });
});
