// Cost allocation: the meter splits what a job, a serving replica and a team's stored bytes cost into CPU, memory,
// GPU (by type) and storage at the admins' per-kind prices (known hours × known prices), records requested vs
// used where samples exist, and GET /api/v1/costs/allocation groups it by name (never an id, a deleted job keeps
// its last known name), with efficiency, idle cost, cost per 1,000 predictions and a chargeback CSV.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeArchives, costLedger, deployments, inferenceMinutes, jobResourceSamples, jobs, registeredModels, teams, users } from "@/db/schema";
import type { JobSpec } from "@/db/schema";
import { GET as allocationRoute } from "./route";
import { GET as costsRoute } from "../route";
import type { Costs } from "@/server/costs/service";
import type { AllocationDto, AllocationRow } from "@/lib/schemas/costs";
import { createFsArtifactStore } from "@/server/artifacts/fs-store";
import { createModel, registerVersion, runWithModel, unique } from "@/server/registry/test-helpers";
import { createTeam } from "@/server/teams/service";
import { DEMO, call, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { getAllocation, getModelVersionCost } from "@/server/costs/allocation";
import { meterCosts } from "@/server/costs/meter";
import { priceSheet, saveResourcePrice, splitAmount } from "@/server/costs/resource-prices";

const db = demoDatabase();
const H = 3_600_000;
const GIB = 1024 ** 3;
const slug = `alloc-${Date.now() % 100_000}`;
const t0 = new Date(Math.floor(Date.now() / H) * H - 10 * H);
const at = (hours: number) => new Date(t0.getTime() + hours * H);
const WINDOW = `team=${slug}&from=${at(-24).toISOString()}&to=${at(100).toISOString()}`;
const ids: Record<string, string> = {};
let token = "";
let fraudToken = "";
let adminName = "";
let storeDir = "";
const QUOTED_NAME = 'nightly "big", then =SUM(A1)';

function spec(): JobSpec {
  return { source: null, command: ["true"], image: null, env: {}, instance_type: null, priority: "normal", max_runtime_seconds: 36_000, retries: 0 };
}

const allocation = async (query: string, as = token, headers: Record<string, string> = {}) => call(allocationRoute, { token: as, path: `/api/v1/costs/allocation?${query}`, headers });
const rowNamed = (a: AllocationDto, name: string): AllocationRow => {
  const row = a.rows.find((r) => r.name === name);
  if (!row) throw new Error(`no row named ${name}: ${a.rows.map((r) => r.name).join(", ")}`);
  return row;
};

beforeAll(async () => {
  const admin = await ctxFor(db(), DEMO.admin);
  await createTeam(admin, { slug, name: "Allocation test" });
  [token, fraudToken] = await Promise.all([tokenFor(db(), DEMO.admin, slug), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  adminName = (await db().select({ name: users.name }).from(users).where(eq(users.email, DEMO.admin)))[0]!.name;
  // Prices chosen so that each kind's share is a round number: a 2-CPU/4-GiB job lists at 0.06 + 0.04 = $0.10/h,
  // an 8-CPU/32-GiB/1×T4 job at 0.24 + 0.32 + 0.44 = $1.00/h.
  for (const p of [{ kind: "cpu", unit_price_usd: 0.03 }, { kind: "memory", unit_price_usd: 0.01 }, { kind: "gpu", gpu_type: "nvidia-t4", unit_price_usd: 0.44 }, { kind: "storage", unit_price_usd: 0.1 }] as const) {
    await saveResourcePrice(admin, p);
  }
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, slug));
  ids.team = team!.id;
  const trained = await runWithModel(token, "alloc");
  const model = unique("alloc-model");
  await createModel(token, model);
  await registerVersion(token, model, trained);
  ids.model = model;
  const base = { teamId: team!.id, experimentId: Number(trained.exp), runId: trained.run, userId: null, userEmail: DEMO.admin, spec: spec(), priority: 1, attempt: 1, backend: "local" as const, status: "succeeded" as const };
  const made = await db().insert(jobs).values([
    // 3 h of 2 CPU / 4 GiB at $0.10/h = $0.30 (cpu 0.18, memory 0.12), half of it used (samples below).
    { ...base, name: "train-small", cpu: 2, memoryGib: 4, hourlyPriceUsd: 0.1, startedAt: at(0), finishedAt: at(3), runSeconds: 3 * 3600 },
    // 2 h of 8 CPU / 32 GiB / 1×T4 at $0.60/h = $1.20 (cpu 0.288, memory 0.384, GPU 0.528); never sampled.
    { ...base, name: QUOTED_NAME, cpu: 8, memoryGib: 32, gpus: 1, gpuType: "nvidia-t4", hourlyPriceUsd: 0.6, startedAt: at(3), finishedAt: at(5), runSeconds: 2 * 3600 },
  ]).returning({ id: jobs.id, name: jobs.name });
  ids.small = made[0]!.id;
  ids.gpu = made[1]!.id;
  await db().insert(jobResourceSamples).values([0.5, 1.5, 2.5].map((h) => ({ jobId: ids.small!, at: at(h), cpuCores: 1, memoryBytes: 2 * GIB })));
  // 1 replica served for 1 h at cpu.small's $0.10/h (2 CPU, 4 GiB: cpu 0.06, memory 0.04), answering 500 predictions.
  const [m] = await db().select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.name, model));
  const [d] = await db().insert(deployments).values({
    teamId: team!.id, modelId: m!.id, modelName: model, version: 1, environment: "production", status: "stopped", replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1,
    createdByEmail: DEMO.admin, createdAt: at(5), readyAt: at(5), stoppedAt: at(6),
  }).returning({ id: deployments.id });
  ids.deployment = d!.id;
  await db().insert(inferenceMinutes).values([200, 300].map((requests, i) => ({ deploymentId: d!.id, version: 1, minute: new Date(at(5).getTime() + i * 60_000), requests, errors5xx: 0, errors4xx: 0, latencyMsSum: requests * 5, latencyBuckets: [] })));
  // 10 GiB stored (a code archive's recorded size) for 73 h at $0.10/GiB-month (730 h) = $0.10.
  await db().insert(codeArchives).values({ id: crypto.randomUUID(), teamId: team!.id, filename: "big.zip", format: "zip", sizeBytes: 10 * GIB, sha256: "0".repeat(64), files: 1, storagePath: "code/x.zip", createdByEmail: DEMO.admin });
  storeDir = mkdtempSync(path.join(os.tmpdir(), "cairn-alloc-"));
  const store = createFsArtifactStore(storeDir);
  await meterCosts(db(), at(10), { store });
  await meterCosts(db(), at(83), { store });
});

afterAll(() => {
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

describe("the ledger, per resource kind", () => {
  it("splits each job's cost across CPU, memory and GPU at the per-kind prices, and records requested vs used", async () => {
    const rows = await db().select().from(costLedger).where(eq(costLedger.teamId, ids.team!));
    const small = rows.find((r) => r.subjectId === ids.small)!;
    expect(small).toMatchObject({ amountUsd: 0.3, cpuUsd: 0.18, memoryUsd: 0.12, gpuUsd: 0, storageUsd: 0, cpuCoreHours: 6, memoryGibHours: 12, gpuHours: 0, gpuType: null, experimentName: expect.any(String), runName: expect.any(String) });
    expect(small.usedCpuCoreHours).toBeCloseTo(3, 6);
    expect(small.usedMemoryGibHours).toBeCloseTo(6, 6);
    const gpu = rows.find((r) => r.subjectId === ids.gpu)!;
    expect(gpu).toMatchObject({ amountUsd: 1.2, cpuUsd: 0.288, memoryUsd: 0.384, gpuUsd: 0.528, gpuHours: 2, gpuType: "nvidia-t4", usedCpuCoreHours: null, usedMemoryGibHours: null });
    expect(gpu.usageNote).toMatch(/not measured/);
  });

  it("splits a serving replica as its instance type and charges stored GiB per month", async () => {
    const rows = await db().select().from(costLedger).where(eq(costLedger.teamId, ids.team!));
    const served = rows.find((r) => r.subjectKind === "deployment")!;
    expect(served).toMatchObject({ amountUsd: 0.1, cpuUsd: 0.06, memoryUsd: 0.04, gpuUsd: 0, modelName: ids.model, modelVersion: 1, environment: "production" });
    const stored = rows.filter((r) => r.subjectKind === "storage");
    // The first pass marks when metering began (nothing before it is charged); the second charges 73 h.
    expect(stored.map((r) => r.amountUsd).sort()).toEqual([0, 0.1]);
    const charged = stored.find((r) => r.amountUsd === 0.1)!;
    expect(charged).toMatchObject({ storageUsd: 0.1, quantityHours: 73 });
    expect(charged.storageGibHours).toBeCloseTo(730, 2); // 10 GiB (+ the registered version's few pinned bytes) × 73 h
  });

  it("on Kubernetes without readable usage, says so and why (and never estimates it)", async () => {
    const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, slug));
    const [exp] = await db().select({ experimentId: jobs.experimentId, runId: jobs.runId }).from(jobs).where(eq(jobs.id, ids.small!));
    const reason = "pod metrics are not available on this cluster (it does not serve the metrics.k8s.io API; install metrics-server, or set PROMETHEUS_URL to a Prometheus that scrapes the kubelet's cAdvisor metrics)";
    const [k8s] = await db().insert(jobs).values({
      teamId: team!.id, experimentId: exp!.experimentId, runId: exp!.runId, userId: null, userEmail: DEMO.admin, spec: spec(), priority: 1, attempt: 1, backend: "kubernetes", status: "succeeded",
      name: "train-on-cluster", cpu: 4, memoryGib: 8, hourlyPriceUsd: 0.2, startedAt: at(-5), finishedAt: at(-4), runSeconds: 3600, resourceSource: { source: "unavailable", reason },
    }).returning({ id: jobs.id });
    await meterCosts(db(), at(84));
    const [row] = await db().select().from(costLedger).where(eq(costLedger.subjectId, k8s!.id));
    expect(row).toMatchObject({ amountUsd: 0.2, cpuCoreHours: 4, memoryGibHours: 8, usedCpuCoreHours: null, usedMemoryGibHours: null, usageNote: `usage not readable: ${reason}` });
    const byJob = (await allocation(`by=job&${WINDOW}`)).json as AllocationDto;
    expect(rowNamed(byJob, "train-on-cluster")).toMatchObject({ usage: "not measured", efficiency: null, usage_note: `usage not readable: ${reason}` });
    // Out of the other tests' way: the figures below are of the jobs above.
    await db().delete(costLedger).where(eq(costLedger.subjectId, k8s!.id));
  });

  it("with every list price 0 puts the whole amount on CPU, and the parts always add up", async () => {
    const zero = { ...(await priceSheet(db())), cpu: 0, memory: 0, gpu: () => 0 };
    expect(splitAmount(0.7, { cpu: 2, memoryGib: 4, gpus: 1, gpuType: "x" }, zero)).toEqual({ cpuUsd: 0.7, memoryUsd: 0, gpuUsd: 0 });
    const odd = splitAmount(1, { cpu: 1, memoryGib: 1, gpus: 1, gpuType: "nvidia-t4" }, await priceSheet(db()));
    expect(odd.cpuUsd + odd.memoryUsd + odd.gpuUsd).toBeCloseTo(1, 9);
  });
});

describe("GET /api/v1/costs/allocation", () => {
  it("by team: the split, GPU by type, efficiency and idle cost of what was measured", async () => {
    const res = await allocation(`by=team&${WINDOW}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const a = res.json as AllocationDto;
    expect(a.rows).toHaveLength(1);
    const team = a.rows[0]!;
    expect(team).toMatchObject({ key: slug, name: "Allocation test", teams: [slug], total_usd: 1.7, cpu_usd: 0.528, memory_usd: 0.544, gpu_usd: 0.528, storage_usd: 0.1, unsplit_usd: 0, training_usd: 1.5, serving_usd: 0.1 });
    expect(team.gpu_by_type).toEqual([{ gpu_type: "nvidia-t4", usd: 0.528, gpu_hours: 2 }]);
    // Only train-small was measured: 3 of 6 core-hours and 6 of 12 GiB-hours used; idle = 0.18/2 + 0.12/2.
    expect(team).toMatchObject({ cpu_efficiency: 0.5, memory_efficiency: 0.5, efficiency: 0.5, idle_usd: 0.15, usage: "partly measured" });
    expect(team.predictions).toBe(500);
    expect(a.total.total_usd).toBe(1.7);
  });

  it("by job: names, never ids; serving and storage in rows of their own; a deleted job keeps its last known name", async () => {
    await db().delete(jobs).where(eq(jobs.id, ids.gpu!));
    const a = (await allocation(`by=job&${WINDOW}`)).json as AllocationDto;
    expect(a.rows.map((r) => r.name).sort()).toEqual([QUOTED_NAME, "Serving (deployments) (not a job)", "Stored artifacts (not a job)", "train-small"].sort());
    expect(JSON.stringify(a.rows.map((r) => r.name))).not.toContain(ids.small);
    expect(rowNamed(a, "train-small")).toMatchObject({ total_usd: 0.3, usage: "measured", efficiency: 0.5 });
    expect(rowNamed(a, QUOTED_NAME)).toMatchObject({ total_usd: 1.2, usage: "not measured", efficiency: null, idle_usd: null });
    expect(rowNamed(a, QUOTED_NAME).usage_note).toMatch(/not measured/);
    expect(a.rows.reduce((n, r) => n + r.total_usd, 0)).toBeCloseTo(a.total.total_usd, 6);
  });

  it("by model version: training + serving side by side, and cost per 1,000 predictions", async () => {
    const res = await allocation(`by=model_version&${WINDOW}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const a = res.json as AllocationDto;
    const v1 = rowNamed(a, `${ids.model} v1`);
    expect(v1).toMatchObject({ training_usd: 1.5, serving_usd: 0.1, total_usd: 1.6, predictions: 500, cost_per_1000_predictions_usd: 0.2 });
  });

  it("the model version page's figure: training + serving + per 1,000 predictions; another team's member is refused", async () => {
    const cost = await getModelVersionCost(await ctxFor(db(), DEMO.admin), { team: slug, model: ids.model!, version: 1 }, at(24));
    expect(cost).toMatchObject({ training_usd: 1.5, serving_usd: 0.1, predictions: 500, cost_per_1000_predictions_usd: 0.2 });
    expect(await getModelVersionCost(await ctxFor(db(), DEMO.admin), { team: slug, model: ids.model!, version: 2 }, at(24))).toBeNull();
    await expect(getModelVersionCost(await ctxFor(db(), DEMO.dsFraud), { team: slug, model: ids.model!, version: 1 }, at(24))).rejects.toMatchObject({ code: "not_found" });
  });

  it("by user and environment: people by name, environments by what they are", async () => {
    const byUser = (await allocation(`by=user&${WINDOW}`)).json as AllocationDto;
    expect(byUser.rows.map((r) => r.name).sort()).toEqual([`${adminName} <${DEMO.admin}>`, "Team storage (no user)"].sort());
    const byEnv = (await allocation(`by=environment&${WINDOW}`)).json as AllocationDto;
    expect(Object.fromEntries(byEnv.rows.map((r) => [r.name, r.total_usd]))).toEqual({ "training (jobs)": 1.5, production: 0.1, storage: 0.1 });
    expect(rowNamed(byEnv, "production").cost_per_1000_predictions_usd).toBe(0.2);
  });

  it("GET /api/v1/costs counts storage too, by kind and under no user", async () => {
    const byKind = (await call(costsRoute, { token, path: `/api/v1/costs?aggregate=kind&team=${slug}&window=7d` })).json as Costs;
    expect(byKind.totals).toContainEqual({ key: "storage", amount: 0.1 });
    const byUser = (await call(costsRoute, { token, path: `/api/v1/costs?aggregate=user&team=${slug}&window=7d` })).json as Costs;
    expect(byUser.totals.map((t) => t.key).sort()).toEqual([DEMO.admin, "team storage (no user)"]);
  });

  it("answers a chargeback CSV (format=csv or Accept: text/csv), quoted as RFC 4180 says", async () => {
    for (const res of [await allocation(`by=job&format=csv&${WINDOW}`), await allocation(`by=job&${WINDOW}`, token, { accept: "text/csv" })]) {
      expect(res.status).toBe(200);
      expect(res.response.headers.get("content-type")).toMatch(/^text\/csv/);
      expect(res.response.headers.get("content-disposition")).toMatch(/attachment; filename="cairn-costs-by-job-.*\.csv"/);
      const text = res.json as string;
      const lines = text.split("\r\n");
      expect(lines[0]).toMatch(/^job,teams,from,to,currency,total_usd,cpu_usd,memory_usd,gpu_usd,gpu_usd_nvidia-t4,storage_usd,/);
      expect(text).toContain(`"nightly ""big"", then =SUM(A1)",${slug},`);
      expect(lines.find((l) => l.startsWith("train-small,"))).toContain(",0.3,0.18,0.12,0,0,0,");
      expect(lines.at(-2)).toMatch(/^Total,/);
      expect(text.endsWith("\r\n")).toBe(true);
    }
  });

  it("shows another team's costs to nobody but admins: 404 for ?team=, and absent from a member's own view", async () => {
    const foreign = await allocation(WINDOW, fraudToken);
    expect(foreign.status).toBe(404);
    const own = (await allocation(`by=team&from=${at(-24).toISOString()}&to=${at(100).toISOString()}`, fraudToken)).json as AllocationDto;
    expect(own.rows.map((r) => r.key)).not.toContain(slug);
    const service = await getAllocation(await ctxFor(db(), DEMO.dsFraud), { by: "team", from: at(-24).toISOString(), to: at(100).toISOString() });
    expect(service.rows.every((r) => r.teams.every((t) => t === "fraud"))).toBe(true);
  });

  it("refuses bad input with 400 and says how to fix it", async () => {
    for (const [query, message] of [["by=cluster", /by is one of/], ["from=yesterday", /ISO date/], ["from=2026-02-30", /ISO date/], ["from=2026-11-01T00:00:00+14:00".replace("+", " "), /%2B/], [`from=${at(5).toISOString()}&to=${at(1).toISOString()}`, /before/], ["from=2020-01-01&to=2026-01-01", /at most 400 days/], ["format=xml", /json or csv/]] as const) {
      const res = await allocation(query);
      expect(res.status, query).toBe(400);
      expect(JSON.stringify(res.json)).toMatch(message);
    }
  });

  it("lets only admins set prices", async () => {
    await expect(saveResourcePrice(await ctxFor(db(), DEMO.lead), { kind: "cpu", unit_price_usd: 1 })).rejects.toMatchObject({ code: "forbidden" });
    await expect(saveResourcePrice(await ctxFor(db(), DEMO.admin), { kind: "cpu", gpu_type: "x", unit_price_usd: 1 })).rejects.toMatchObject({ code: "invalid_input" });
    const rows = await db().select().from(costLedger).where(and(eq(costLedger.teamId, ids.team!), eq(costLedger.subjectKind, "job")));
    expect(rows.length).toBe(2);
  });
});
