// GPU used vs requested in the cost meter and the allocation, over a synthetic period: a Kubernetes job whose samples
// carry the DCGM exporter's utilization of its pod's GPUs is charged used GPU-hours (GPUs × mean utilization × hours),
// its GPU efficiency joins CPU's and memory's cost-weighted, and its idle GPU cost shows; a job with no GPU reading
// keeps its GPUs "as requested" and says why; the chargeback CSV carries the same columns; thinning keeps the mean.
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { costLedger, jobResourceSamples, jobs, teams } from "@/db/schema";
import type { JobSpec } from "@/db/schema";
import { AppError } from "../errors";
import { createTeam } from "../teams/service";
import { newRun } from "../registry/test-helpers";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { SAMPLE_CAP, thinOwnerSamples } from "../workers/resource-samples";
import { allocationCsv } from "./allocation-csv";
import { getAllocation } from "./allocation";
import { meterCosts } from "./meter";
import { saveResourcePrice } from "./resource-prices";

const db = demoDatabase();
const H = 3_600_000;
const GIB = 1024 ** 3;
const slug = `gpu-use-${Date.now() % 100_000}`;
const t0 = new Date(Math.floor(Date.now() / H) * H - 10 * H);
const at = (hours: number) => new Date(t0.getTime() + hours * H);
const window = { team: slug, from: at(-1).toISOString(), to: at(20).toISOString() };
const ids: Record<string, string> = {};

const spec = (): JobSpec => ({ source: null, command: ["true"], image: null, env: {}, instance_type: null, priority: "normal", max_runtime_seconds: 36_000, retries: 0 });

beforeAll(async () => {
  const admin = await ctxFor(db(), DEMO.admin);
  await createTeam(admin, { slug, name: "GPU usage" });
  // 8 CPU × 0.03 + 32 GiB × 0.01 + 2 × T4 × 0.44 = 0.24 + 0.32 + 0.88 = $1.44/h.
  for (const p of [{ kind: "cpu", unit_price_usd: 0.03 }, { kind: "memory", unit_price_usd: 0.01 }, { kind: "gpu", gpu_type: "nvidia-t4", unit_price_usd: 0.44 }] as const) {
    await saveResourcePrice(admin, p);
  }
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, slug));
  const run = await newRun(await tokenFor(db(), DEMO.admin, slug), "gpu-use");
  const base = {
    teamId: team!.id, experimentId: Number(run.exp), runId: run.run, userId: null, userEmail: DEMO.admin, spec: spec(), priority: 1, attempt: 1, backend: "kubernetes" as const,
    status: "succeeded" as const, cpu: 8, memoryGib: 32, gpus: 2, gpuType: "nvidia-t4", hourlyPriceUsd: 1.44, runSeconds: 7200,
  };
  const made = await db().insert(jobs).values([
    { ...base, name: "fine-tune-measured", startedAt: at(0), finishedAt: at(2) },
    { ...base, name: "fine-tune-no-dcgm", startedAt: at(3), finishedAt: at(5) },
  ]).returning({ id: jobs.id, name: jobs.name });
  ids.measured = made.find((j) => j.name === "fine-tune-measured")!.id;
  ids.unread = made.find((j) => j.name === "fine-tune-no-dcgm")!.id;
  // Half the cores and half the memory used by both; the first's GPUs 50 %, 70 %, 90 % busy (mean 70 %), the second's never read.
  await db().insert(jobResourceSamples).values([
    ...[0.5, 0.7, 0.9].map((u, i) => ({ jobId: ids.measured!, at: at(0.5 + i * 0.5), cpuCores: 4, memoryBytes: 16 * GIB, gpuUtilization: u })),
    ...[0, 1, 2].map((i) => ({ jobId: ids.unread!, at: at(3.5 + i * 0.5), cpuCores: 4, memoryBytes: 16 * GIB, gpuUtilization: null })),
  ]);
  await meterCosts(db(), at(10));
});

describe("GPU used vs requested", () => {
  it("charges used GPU-hours as GPUs × mean DCGM utilization × hours, next to the requested ones", async () => {
    const [row] = await db().select().from(costLedger).where(eq(costLedger.subjectId, ids.measured!));
    expect(row).toMatchObject({ amountUsd: 2.88, gpuUsd: 1.76, cpuUsd: 0.48, memoryUsd: 0.64, gpuHours: 4, cpuCoreHours: 16, usedCpuCoreHours: 8, usageNote: null });
    expect(row!.usedGpuHours).toBeCloseTo(2 * 0.7 * 2, 9);
  });

  it("keeps a job's GPUs as requested where no DCGM utilization was read, and says why", async () => {
    const [row] = await db().select().from(costLedger).where(eq(costLedger.subjectId, ids.unread!));
    expect(row).toMatchObject({ gpuHours: 4, usedCpuCoreHours: 8, usedGpuHours: null });
    expect(row!.usageNote).toMatch(/^GPU counted as requested: no DCGM exporter utilization was read for this job's pods/);
  });

  it("weights GPU efficiency into the job's efficiency by cost and counts its idle GPU cost", async () => {
    const a = await getAllocation(await ctxFor(db(), DEMO.admin), { ...window, by: "job" });
    const measured = a.rows.find((r) => r.name === "fine-tune-measured")!;
    // (0.5 × 0.48 + 0.5 × 0.64 + 0.7 × 1.76) ÷ 2.88; idle 0.24 + 0.32 + 0.3 × 1.76.
    expect(measured).toMatchObject({ usage: "measured", usage_note: null, cpu_efficiency: 0.5, memory_efficiency: 0.5, gpu_efficiency: 0.7, efficiency: 0.6222, idle_usd: 1.088, gpu_hours: 4, used_gpu_hours: 2.8 });
    const unread = a.rows.find((r) => r.name === "fine-tune-no-dcgm")!;
    // GPUs as requested: out of efficiency and idle, and the group only partly measured, with why.
    expect(unread).toMatchObject({ usage: "partly measured", cpu_efficiency: 0.5, memory_efficiency: 0.5, gpu_efficiency: null, efficiency: 0.5, idle_usd: 0.56, used_gpu_hours: null });
    expect(unread.usage_note).toMatch(/^GPU counted as requested/);
  });

  it("sums the team over what was measured, and the chargeback CSV carries the same columns", async () => {
    const a = await getAllocation(await ctxFor(db(), DEMO.admin), { ...window, by: "team" });
    const team = a.rows[0]!;
    expect(team).toMatchObject({ gpu_hours: 8, used_gpu_hours: 2.8, gpu_efficiency: 0.7, usage: "partly measured", idle_usd: 1.648 });
    const csv = allocationCsv(a).split("\r\n");
    const header = csv[0]!.split(",");
    const line = csv[1]!.split(",");
    const col = (name: string) => line[header.indexOf(name)];
    expect(header).toEqual(expect.arrayContaining(["gpu_hours", "used_gpu_hours", "gpu_efficiency"]));
    expect([col("gpu_hours"), col("used_gpu_hours"), col("gpu_efficiency")]).toEqual(["8", "2.8", "0.7"]);
  });

  it("refuses another team's member the team's allocation", async () => {
    await expect(getAllocation(await ctxFor(db(), DEMO.dsFraud), { ...window, by: "job" })).rejects.toThrow(AppError);
  });

  it("keeps the mean GPU utilization of the samples it merges, and a lone reading where the other has none", async () => {
    const [job] = await db().select().from(jobs).where(eq(jobs.id, ids.unread!));
    const j = job!;
    const [thin] = await db().insert(jobs).values({
      teamId: j.teamId, experimentId: j.experimentId, runId: j.runId, userEmail: j.userEmail, name: "thinned", spec: j.spec, cpu: 1, memoryGib: 1, gpus: 1, gpuType: "nvidia-t4", hourlyPriceUsd: 0.5, backend: "kubernetes", status: "running",
    }).returning({ id: jobs.id });
    await db().insert(jobResourceSamples).values([0.2, 0.4, null, 0.8].map((u, i) => ({ jobId: thin!.id, at: at(i), cpuCores: 1, memoryBytes: GIB, gpuUtilization: u })));
    expect(SAMPLE_CAP).toBeGreaterThan(4);
    await thinOwnerSamples(db(), "job", thin!.id);
    const left = await db().select().from(jobResourceSamples).where(eq(jobResourceSamples.jobId, thin!.id)).orderBy(jobResourceSamples.at);
    expect(left.map((s) => s.gpuUtilization)).toEqual([expect.closeTo(0.3, 9), 0.8]);
  });
});
