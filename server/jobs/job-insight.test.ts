// What a job page tells about a job beyond its status, with real jobs on the local executor: the cause of a
// failure read from the log (an exception, an out-of-memory kill at the job's memory, a timeout) and the CPU
// and memory samples a job keeps (the sampler against a real job: app/api/v1/jobs/[id]/resources/route.test.ts).
import { readFileSync } from "node:fs";
import { eq, inArray } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { jobResourceSamples, jobs } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { createExperiment } from "../tracking/experiments";
import { sampleResources } from "../workers/testing";
import { getJobResources } from "./usage";
import { cgroupSupport } from "../compute/cgroup";
import { SAMPLE_CAP, thinSamples } from "../workers/job-resources";
import type { JobDto } from "./service";
import { cancelJob, getJob, getJobEvents, jobLogFile, submitJob } from "./service";
import { isFinal, waitForJob, waitForLogLine } from "./testing/wait";

const db = demoDatabase();
const MB = 1024 * 1024;
const node = (code: string) => [process.execPath, "-e", code];

async function submit(body: Record<string, unknown>): Promise<JobDto> {
  const ctx = await ctxFor(db(), DEMO.ds);
  const { experiment_id: exp } = await createExperiment(ctx, { name: `insight-${Date.now()}-${Math.random()}`, team: "churn" });
  return submitJob(ctx, exp, trainJobSchema.parse({ instance_type: "cpu.small", max_runtime_seconds: 120, ...body }));
}

const waitFor = (id: string, done: (j: JobDto) => boolean, ms = 30_000) => waitForJob(db(), id, done, { ms, every: 100 });

afterEach(async () => {
  const active = await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]));
  const admin = await ctxFor(db(), DEMO.admin);
  for (const j of active) await cancelJob(admin, j.id).catch(() => undefined);
  for (const j of active) await waitFor(j.id, isFinal).catch(() => undefined);
});

describe("the failure cause", () => {
  it("is the exception from the log, with its line, on the job, over HTTP and in the timeline", async () => {
    const job = await submit({ command: node("console.log('loading features'); function parseRow(v) { throw new TypeError('expected a number, got ' + typeof v); } parseRow(undefined);") });
    const done = await waitFor(job.job_id, isFinal);
    expect(done).toMatchObject({ status: "failed", exit_code: 1, message: "exited with code 1" });
    expect(done.failure).toMatchObject({ kind: "exception", summary: "TypeError: expected a number, got undefined" });
    const lines = readFileSync(jobLogFile(job.job_id), "utf8").split("\n");
    expect(lines[done.failure!.line! - 1]).toBe("TypeError: expected a number, got undefined");

    expect((await getJob(await ctxFor(db(), DEMO.ds), job.job_id)).failure).toEqual(done.failure);
    await expect(getJob(await ctxFor(db(), DEMO.dsFraud), job.job_id)).rejects.toMatchObject({ code: "not_found" });
    const events = await getJobEvents(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(events.at(-1)!.message).toBe("exited with code 1: TypeError: expected a number, got undefined");
  });

  it("says out of memory when the kernel ends a job past the memory it asked for (its cgroup limit)", async () => {
    if (cgroupSupport().version === null) return; // no kernel limits here: the case below stands in
    const job = await submit({
      instance_type: undefined, resources: { cpu: 1, memory_gib: 0.25 },
      command: node("const a = []; for (let i = 0; i < 40; i++) a.push(Buffer.alloc(16 * 1024 * 1024, 1)); console.log('never printed');"),
    });
    const done = await waitFor(job.job_id, isFinal);
    expect(done.status).toBe("failed");
    expect(done.failure).toMatchObject({ kind: "oom" });
    expect(done.failure!.summary).toMatch(/^out of memory: killed for exceeding its memory limit \(OOMKilled\)/);
    expect(readFileSync(jobLogFile(job.job_id), "utf8").split("\n")).not.toContain("never printed");
  });

  it("says out of memory when the job is SIGKILLed with its memory at what it asked for", async () => {
    // 0.5 GiB asked for; the job holds 440 MB (plus node's own, under its cgroup limit where there is one), is
    // sampled, then is killed as the kernel would.
    const job = await submit({
      instance_type: undefined, resources: { cpu: 1, memory_gib: 0.5 },
      command: node("const b = Buffer.alloc(440 * 1024 * 1024, 1); console.log('holding'); setTimeout(() => process.kill(process.pid, 'SIGKILL'), 4000);"),
    });
    await waitFor(job.job_id, (j) => j.status === "running");
    await waitForLogLine(job.job_id, "holding");
    await sampleResources(db());
    const done = await waitFor(job.job_id, isFinal);
    expect(done.status).toBe("failed");
    expect(done.failure).toMatchObject({ kind: "oom" });
    expect(done.failure!.summary).toMatch(/^out of memory: killed by SIGKILL; its memory reached \d{3} MiB of 512 MiB$/);
  });

  it("is the timeout when the job outlived its max runtime", async () => {
    const job = await submit({ command: node("setInterval(() => {}, 1000)"), max_runtime_seconds: 10 });
    const done = await waitFor(job.job_id, isFinal, 30_000);
    expect(done.failure).toEqual({ kind: "timeout", summary: "stopped: exceeded its max runtime of 10 s (max_runtime_seconds)" });
  });
});

describe("resource samples", () => {
  it("keeps at most the cap per job by merging pairs: mean CPU, peak memory", async () => {
    const job = await submit({ command: ["true"] });
    const t0 = Date.now() - 3 * 3600_000;
    const rows = Array.from({ length: SAMPLE_CAP + 1 }, (_, i) => ({ jobId: job.job_id, at: new Date(t0 + i * 5000), cpuCores: i % 2 ? 1 : 0, memoryBytes: i === 1001 ? 9 * MB : MB }));
    for (let i = 0; i < rows.length; i += 500) await db().insert(jobResourceSamples).values(rows.slice(i, i + 500));
    await thinSamples(db(), job.job_id);
    const kept = await db().select().from(jobResourceSamples).where(eq(jobResourceSamples.jobId, job.job_id)).orderBy(jobResourceSamples.at);
    expect(kept).toHaveLength(SAMPLE_CAP / 2 + 1);
    expect(kept[0]!.at.getTime()).toBe(t0);
    expect(kept[0]!.cpuCores).toBe(0.5);
    expect(Math.max(...kept.map((k) => k.memoryBytes))).toBe(9 * MB);
    // The odd one out at the end stays as it was.
    expect(kept.at(-1)!.at.getTime()).toBe(t0 + SAMPLE_CAP * 5000);
    const body = await getJobResources(await ctxFor(db(), DEMO.lead), job.job_id);
    expect(body.samples.length).toBeLessThanOrEqual(1000);
    expect(body.total_samples).toBe(SAMPLE_CAP / 2 + 1);
    expect(Math.max(...body.samples.map((s) => s.memory_bytes))).toBe(9 * MB);
  });
});
