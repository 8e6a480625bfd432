// The serving resource sampler end to end: a real local replica (a model-server process over a real ONNX model) read
// from /proc and stored; a deployment's pods read from metrics.k8s.io (the in-test API server answers as metrics-server
// does, as for jobs) or said to be unreadable, and why; and the cost meter charging a serving period with what its
// replicas used (efficiency and idle on the allocation by environment, and in the chargeback CSV), or saying why not.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApisApi, CustomObjectsApi } from "@kubernetes/client-node";
import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/db/client";
import { costLedger, deploymentResourceSamples, deployments, registeredModels, teams } from "@/db/schema";
import { PodUsageReader, NO_POD_METRICS } from "../compute/k8s-pod-usage";
import { FakeCluster } from "../compute/testing/fake-k8s";
import { allocationCsv } from "../costs/allocation-csv";
import { getAllocation } from "../costs/allocation";
import { meterCosts } from "../costs/meter";
import { LocalServing } from "../deployments/local-serving";
import { KubernetesReplicaUsage, LocalReplicaUsage, servingPods } from "../deployments/replica-usage";
import { dcgmGpus } from "../observability/gpu-use";
import { linearClassifierOnnx } from "../registry/onnx-graphs";
import { createTeam } from "../teams/service";
import { DEMO, ctxFor, demoDatabase } from "../testing/fixtures";
import { SAMPLE_CAP, thinOwnerSamples } from "./resource-samples";
import { ServingResourceSampler } from "./serving-resources";

const db = demoDatabase();
const H = 3_600_000;
const GIB = 1024 ** 3;
const slug = `serve-use-${Date.now() % 100_000}`;
let teamId = "";
let modelId = "";
let dir = "";
let serving: LocalServing;
let cluster: FakeCluster;

beforeAll(async () => {
  await createTeam(await ctxFor(db(), DEMO.admin), { slug, name: "Serving usage" });
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, slug));
  teamId = team!.id;
  const [m] = await db().insert(registeredModels).values({ teamId, name: "scorer", creationTime: Date.now(), lastUpdatedTime: Date.now() }).returning({ id: registeredModels.id });
  modelId = m!.id;
  dir = mkdtempSync(path.join(os.tmpdir(), "cairn-serve-use-"));
  writeFileSync(path.join(dir, "model.onnx"), linearClassifierOnnx({ features: 4, classes: 2, weights: [0.5, -1, 2, 0.25], bias: [0.1] }));
  serving = new LocalServing();
  cluster = new FakeCluster();
  await cluster.listen();
});

afterAll(async () => {
  await serving?.stopAll();
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type DeploymentRow = typeof deployments.$inferInsert;

async function deployment(over: Partial<DeploymentRow> = {}): Promise<string> {
  const [d] = await db().insert(deployments).values({
    teamId, modelId, modelName: "scorer", version: 1, environment: "production", status: "ready", replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1,
    createdByEmail: DEMO.admin, readyAt: new Date(), ...over,
  }).returning({ id: deployments.id });
  return d!.id;
}

const samplesOf = (id: string) => db().select().from(deploymentResourceSamples).where(eq(deploymentResourceSamples.deploymentId, id));
const sourceOf = async (id: string) => (await db().select({ s: deployments.resourceSource }).from(deployments).where(eq(deployments.id, id)))[0]!.s;

describe("local replicas", () => {
  it("reads a real replica process from /proc and stores it as the deployment's sample", async () => {
    const id = await deployment({ backend: "local" });
    await serving.ensure({ deploymentId: id, modelName: "scorer", version: 1, modelPath: path.join(dir, "model.onnx"), replicas: 1 });
    const reader = new LocalReplicaUsage((d) => serving.state(d)?.replicas ?? null);
    const sampler = new ServingResourceSampler({ db: db(), reader, intervalMs: 1000 });
    await sampler.tick();
    const [first, ...rest] = await samplesOf(id);
    expect(rest).toHaveLength(0);
    // A node process that loaded a model: its start-up CPU and tens of MiB resident.
    expect(first).toMatchObject({ replicas: 1 });
    expect(first!.cpuCores).toBeGreaterThan(0);
    expect(first!.memoryBytes).toBeGreaterThan(10 * 1024 ** 2);
    expect(await sourceOf(id)).toEqual({ source: "process" });
    // Scaled to two: both processes are read, and their memory summed.
    await serving.ensure({ deploymentId: id, modelName: "scorer", version: 1, modelPath: path.join(dir, "model.onnx"), replicas: 2 });
    await sampler.tick();
    const two = (await samplesOf(id)).sort((a, b) => a.id - b.id)[1]!;
    expect(two.replicas).toBe(2);
    expect(two.memoryBytes).toBeGreaterThan(first!.memoryBytes);
    // Replicas that ended leave nothing to read: no sample is made up.
    await serving.stop(id);
    await sampler.tick();
    expect(await samplesOf(id)).toHaveLength(2);
  });

  it("leaves deployments this process does not serve, and other backends' deployments, alone", async () => {
    const elsewhere = await deployment({ backend: "local" });
    const onCluster = await deployment({ backend: "kubernetes" });
    await new ServingResourceSampler({ db: db(), reader: new LocalReplicaUsage((d) => serving.state(d)?.replicas ?? null), intervalMs: 1000 }).tick();
    expect(await samplesOf(elsewhere)).toHaveLength(0);
    expect(await samplesOf(onCluster)).toHaveLength(0);
    expect(await sourceOf(elsewhere)).toBeNull();
  });
});

describe("retention", () => {
  it("keeps a deployment's samples to the cap by merging pairs (mean CPU, peak memory), as a job's", async () => {
    const id = await deployment({ backend: "local", status: "stopped" });
    const t = Date.now() - 60_000;
    await db().insert(deploymentResourceSamples).values([[0.2, 1], [0.4, 3], [1, 2], [0.5, 1]].map(([cpu, gib], i) => ({ deploymentId: id, at: new Date(t + i * 1000), replicas: 1, cpuCores: cpu!, memoryBytes: gib! * GIB })));
    await thinOwnerSamples(db(), "deployment", id);
    const kept = (await samplesOf(id)).sort((a, b) => a.at.getTime() - b.at.getTime());
    expect(kept.map((r) => [Math.round(r.cpuCores * 1000) / 1000, r.memoryBytes / GIB, r.at.getTime() - t])).toEqual([[0.3, 3, 0], [0.75, 2, 2000]]);
    expect(SAMPLE_CAP).toBe(2_000);
  });
});

describe("Kubernetes replicas", () => {
  const namespace = `cairn-${slug}`;
  const reader = () => {
    const kc = cluster.kubeConfig();
    return new KubernetesReplicaUsage(new PodUsageReader(kc.makeApiClient(ApisApi), kc.makeApiClient(CustomObjectsApi)));
  };
  const pod = (name: string, deploymentId: string) => cluster.insert("pods", {
    metadata: { name, namespace, labels: { "cairn.dev/component": "model-server", "cairn.dev/deployment": deploymentId, "app.kubernetes.io/managed-by": "cairn" } },
    spec: { containers: [{ name: "model-server" }] },
    status: { phase: "Running" },
  });

  afterEach(() => {
    cluster.podMetrics = null;
    for (const p of cluster.list("pods", null)) cluster.remove("pods", p);
  });

  it("sums the deployment's pods from metrics.k8s.io, other deployments' pods not, and nothing before they are measured", async () => {
    cluster.createNamespace(namespace);
    cluster.podMetrics = new Map();
    const id = await deployment({ backend: "kubernetes" });
    const other = randomUUID();
    pod("cairn-model-a-1", id);
    pod("cairn-model-a-2", id);
    pod("cairn-model-b-1", other);
    const r = reader();
    expect(await r.usage({ id, team: slug })).toBeNull();
    cluster.podMetrics.set("cairn-model-a-1", { cpu: "250m", memory: "256Mi" });
    cluster.podMetrics.set("cairn-model-a-2", { cpu: "500000000n", memory: "768Mi" });
    cluster.podMetrics.set("cairn-model-b-1", { cpu: "4", memory: "8Gi" });
    expect(await r.usage({ id, team: slug })).toEqual({ source: "pod-metrics", cpuCores: 0.75, memoryBytes: GIB, replicas: null });
    await new ServingResourceSampler({ db: db(), reader: r, intervalMs: 1000 }).tick();
    expect(await samplesOf(id)).toMatchObject([{ cpuCores: 0.75, memoryBytes: GIB, replicas: null }]);
    expect(await sourceOf(id)).toEqual({ source: "pod-metrics" });
  });

  it("keeps the mean utilization of the replicas' GPUs the DCGM exporter attributes to them, another deployment's not", async () => {
    cluster.createNamespace(namespace);
    cluster.podMetrics = new Map();
    const id = await deployment({ backend: "kubernetes" });
    const other = await deployment({ backend: "kubernetes" });
    const mine = servingPods({ id, team: slug }).owner;
    for (const [name, of] of [[`${mine}-6d9f-a`, id], [`${mine}-6d9f-b`, id], [`${servingPods({ id: other, team: slug }).owner}-7c1e-a`, other]] as const) {
      pod(name, of);
      cluster.podMetrics.set(name, { cpu: "500m", memory: "512Mi" });
    }
    // The exporter's series as Prometheus answers them: replica a's GPU at 40 %, replica b's at 60 %, the other deployment's at 100 %.
    const series = [[`${mine}-6d9f-a`, 40], [`${mine}-6d9f-b`, 60], [`${servingPods({ id: other, team: slug }).owner}-7c1e-a`, 100]].map(([p, util], i) => ({
      labels: { __name__: "DCGM_FI_DEV_GPU_UTIL", gpu: String(i), UUID: `GPU-${i}`, Hostname: "gpu-node-a", namespace, pod: String(p) }, value: Number(util),
    }));
    const gpu = { read: async () => dcgmGpus(series), podsOf: servingPods };
    await new ServingResourceSampler({ db: db(), reader: reader(), intervalMs: 1000, gpu }).tick();
    expect(await samplesOf(id)).toMatchObject([{ cpuCores: 1, gpuUtilization: 0.5 }]);
    expect(await samplesOf(other)).toMatchObject([{ cpuCores: 0.5, gpuUtilization: 1 }]);
    // Without a reader (the local backend, no PROMETHEUS_URL): no GPU reading.
    await new ServingResourceSampler({ db: db(), reader: reader(), intervalMs: 1000 }).tick();
    expect((await samplesOf(id)).sort((a, b) => a.id - b.id).map((s) => s.gpuUtilization)).toEqual([0.5, null]);
  });

  it("on a cluster without metrics.k8s.io (and no Prometheus) stores no sample and keeps why on the deployment", async () => {
    cluster.createNamespace(namespace);
    const id = await deployment({ backend: "kubernetes" });
    pod("cairn-model-c-1", id);
    const r = reader();
    expect(await r.usage({ id, team: slug })).toEqual({ source: "unavailable", reason: NO_POD_METRICS });
    await new ServingResourceSampler({ db: db(), reader: r, intervalMs: 1000 }).tick();
    expect(await samplesOf(id)).toHaveLength(0);
    expect(await sourceOf(id)).toEqual({ source: "unavailable", reason: NO_POD_METRICS });
  });
});

describe("the cost meter's serving rows", () => {
  const t0 = new Date(Math.floor(Date.now() / H) * H - 30 * H);
  const at = (hours: number) => new Date(t0.getTime() + hours * H);
  const window = { team: slug, from: at(-1).toISOString(), to: at(10).toISOString() };

  async function ledgerOf(database: Db, id: string) {
    const [row] = await database.select().from(costLedger).where(eq(costLedger.subjectId, id));
    return row!;
  }

  it("charge what the replicas used over the period: used hours, efficiency and idle by environment and in the CSV", async () => {
    // 2 replicas for 2 h as the replica instance type (cpu.small: 2 CPU, 4 GiB): 8 core-hours and 16 GiB-hours requested.
    // The samples (both replicas together) show 0.5 cores and 1 GiB: 1 core-hour and 2 GiB-hours used, 1/8 of each.
    const id = await deployment({ backend: "local", environment: "staging", status: "stopped", replicas: 2, readyAt: at(0), stoppedAt: at(2) });
    await db().insert(deploymentResourceSamples).values([0.25, 0.75, 1.25, 1.75].map((h) => ({ deploymentId: id, at: at(h), replicas: 2, cpuCores: 0.5, memoryBytes: GIB })));
    // A sample of another period does not count.
    await db().insert(deploymentResourceSamples).values({ deploymentId: id, at: at(5), replicas: 2, cpuCores: 8, memoryBytes: 8 * GIB });
    await meterCosts(db(), at(3));
    const row = await ledgerOf(db(), id);
    expect(row).toMatchObject({ subjectKind: "deployment", quantityHours: 4, cpuCoreHours: 8, memoryGibHours: 16, usageNote: null });
    expect(row.usedCpuCoreHours).toBeCloseTo(1, 6);
    expect(row.usedMemoryGibHours).toBeCloseTo(2, 6);

    const byEnv = await getAllocation(await ctxFor(db(), DEMO.admin), { by: "environment", ...window }, at(10));
    const staging = byEnv.rows.find((r) => r.name === "staging")!;
    expect(staging).toMatchObject({ usage: "measured", cpu_efficiency: 0.125, memory_efficiency: 0.125, efficiency: 0.125, used_cpu_core_hours: 1, used_memory_gib_hours: 2, usage_note: null });
    expect(staging.idle_usd).toBeCloseTo(0.875 * (staging.cpu_usd + staging.memory_usd), 3);
    expect(staging.idle_usd).toBeGreaterThan(0);
    const byVersion = await getAllocation(await ctxFor(db(), DEMO.admin), { by: "model_version", ...window }, at(10));
    expect(byVersion.rows.find((r) => r.name === "scorer v1")).toMatchObject({ efficiency: 0.125 });
    const csv = allocationCsv(byEnv).split("\r\n");
    const header = csv[0]!.split(",");
    const line = csv.find((l) => l.startsWith("staging,"))!.split(",");
    expect(line[header.indexOf("used_cpu_core_hours")]).toBe("1");
    expect(line[header.indexOf("efficiency")]).toBe("0.125");
    expect(line[header.indexOf("usage")]).toBe("measured");
  });

  it("says why usage is not readable where no sample was taken, and never estimates it", async () => {
    const reason = "Cairn's Kubernetes account may not read pod metrics (metrics.k8s.io pods: get, list)";
    const onCluster = await deployment({ backend: "kubernetes", status: "stopped", readyAt: at(3), stoppedAt: at(4), resourceSource: { source: "unavailable", reason } });
    const unsampled = await deployment({ backend: "local", status: "stopped", readyAt: at(3), stoppedAt: at(4) });
    await meterCosts(db(), at(5));
    expect(await ledgerOf(db(), onCluster)).toMatchObject({ usedCpuCoreHours: null, usedMemoryGibHours: null, usageNote: `usage not readable: ${reason}` });
    expect(await ledgerOf(db(), unsampled)).toMatchObject({ usedCpuCoreHours: null, usedMemoryGibHours: null, usageNote: expect.stringMatching(/^usage not readable: no replica process was sampled in this period/) });
    const production = (await getAllocation(await ctxFor(db(), DEMO.admin), { by: "environment", ...window }, at(10))).rows.find((r) => r.name === "production")!;
    expect(production).toMatchObject({ usage: "not measured", efficiency: null, idle_usd: null, usage_note: expect.stringMatching(/^usage not readable: /) });
  });

  it("shows a foreign team's member none of it", async () => {
    await expect(getAllocation(await ctxFor(db(), DEMO.dsFraud), { by: "environment", ...window }, at(10))).rejects.toMatchObject({ code: "not_found" });
  });
});
