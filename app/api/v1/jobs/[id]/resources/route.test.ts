// GET /api/v1/jobs/{id}/resources against a real job on the local executor: the sampler reads its processes'
// CPU and memory; its team reads them, another team's member gets 404, a caller without credentials 401. And
// GET /api/v1/jobs/{id} carries a failed job's cause as `failure`.
import { inArray } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { GET as jobGET } from "@/app/api/v1/jobs/[id]/route";
import { GET as resourcesGET } from "@/app/api/v1/jobs/[id]/resources/route";
import { jobs } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import type { JobResources } from "@/lib/schemas/jobs";
import type { JobDto } from "@/server/jobs/service";
import { cancelJob, submitJob } from "@/server/jobs/service";
import { isFinal, waitForJob, waitForLogLine } from "@/server/jobs/testing/wait";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { createExperiment } from "@/server/tracking/experiments";
import { sampleResources } from "@/server/workers/testing";

const db = demoDatabase();
const MB = 1024 * 1024;
const node = (code: string) => [process.execPath, "-e", code];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = (id: string, done: (j: JobDto) => boolean) => waitForJob(db(), id, done, { ms: 30_000, every: 100 });

async function submit(body: Record<string, unknown>): Promise<JobDto> {
  const ctx = await ctxFor(db(), DEMO.ds);
  const { experiment_id: exp } = await createExperiment(ctx, { name: `resources-${Date.now()}-${Math.random()}`, team: "churn" });
  return submitJob(ctx, exp, trainJobSchema.parse({ instance_type: "cpu.small", max_runtime_seconds: 120, ...body }));
}

afterEach(async () => {
  const active = await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]));
  const admin = await ctxFor(db(), DEMO.admin);
  for (const j of active) await cancelJob(admin, j.id).catch(() => undefined);
  for (const j of active) await waitFor(j.id, isFinal).catch(() => undefined);
});

describe("GET /api/v1/jobs/{id}/resources", () => {
  it("reads the CPU and memory of a running job's processes, and serves them to its team only", async () => {
    const job = await submit({ command: node("const b = Buffer.alloc(200 * 1024 * 1024, 1); console.log('ready'); for (;;) { b[Math.floor(Math.random() * b.length)]++; }") });
    await waitFor(job.job_id, (j) => j.status === "running");
    await waitForLogLine(job.job_id, "ready");
    await sampleResources(db());
    await sleep(1500);
    await sampleResources(db());
    const res = await call(resourcesGET, { token: await tokenFor(db(), DEMO.ds, "churn"), params: { id: job.job_id } });
    expect(res.status).toBe(200);
    const body = res.json as JobResources;
    expect(body).toMatchObject({ source: "process", message: null, limits: { cpu: 2, memory_bytes: 4 * 1024 ** 3 }, total_samples: 2 });
    const last = body.samples.at(-1)!;
    expect(last.memory_bytes).toBeGreaterThan(200 * MB);
    expect(last.memory_bytes).toBeLessThan(500 * MB);
    // One spinning thread: up to a core, less on a busy shared machine — but never nothing.
    expect(last.cpu_cores).toBeGreaterThan(0.05);
    expect(last.cpu_cores).toBeLessThan(2.5);
    expect(new Date(last.at).getTime()).toBeGreaterThan(new Date(body.samples[0]!.at).getTime());

    expect((await call(resourcesGET, { token: await tokenFor(db(), DEMO.dsFraud, "fraud"), params: { id: job.job_id } })).status).toBe(404);
    expect((await call(resourcesGET, { params: { id: job.job_id } })).status).toBe(401);
    expect((await call(resourcesGET, { token: await tokenFor(db(), DEMO.ds, "churn"), params: { id: "not-a-job" } })).status).toBe(404);
  });

});

describe("GET /api/v1/jobs/{id}", () => {
  it("carries a failed job's cause, read from its log", async () => {
    const job = await submit({ command: node("throw new RangeError('learning rate out of range')") });
    await waitFor(job.job_id, isFinal);
    const res = await call(jobGET, { token: await tokenFor(db(), DEMO.ds, "churn"), params: { id: job.job_id } });
    expect(res.status).toBe(200);
    expect((res.json as JobDto).failure).toMatchObject({ kind: "exception", summary: "RangeError: learning rate out of range", line: expect.any(Number) });
  });
});
