// The job sampler reading each pod's GPU utilization from the NVIDIA DCGM exporter: a real Prometheus (the Debian binary
// CI installs) scrapes DCGM-format exposition for two GPU nodes — one with honor_labels (the exporter's namespace/pod
// kept), one behind ServiceMonitor-style target labels (renamed exported_namespace/exported_pod) — and a Kubernetes
// job's attempt (the in-test API server serving metrics.k8s.io for its CPU and memory) is sampled with the mean
// utilization of its GPUs on both; another job's GPU and a same-named pod in another namespace do not count, a job
// the exporter attributes nothing to and a Prometheus that stopped answering store none; the meter then charges
// used GPU-hours from the samples.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costLedger, jobResourceSamples, jobs, teams } from "@/db/schema";
import type { AttemptHandlers, LaunchSpec } from "../compute/backend";
import { KubernetesBackend, parseRef } from "../compute/kubernetes";
import { FakeCluster } from "../compute/testing/fake-k8s";
import { meterCosts } from "../costs/meter";
import { DCGM_GPU_UTIL, podGpuUtilization, readDcgmGpus } from "../observability/gpu-use";
import { findBinary, queryVector } from "../observability/prometheus";
import { dcgmExposition, dcgmScrapeJobs } from "../observability/testing/dcgm";
import type { DcgmGpu } from "../observability/testing/dcgm";
import { freePort, startTestPrometheus } from "../observability/testing/prometheus";
import { newRun } from "../registry/test-helpers";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { until } from "../testing/until";
import { JobResourceSampler } from "./job-resources";

const binary = findBinary("prometheus", (process.env.PATH ?? "").split(path.delimiter).filter(Boolean));
const db = demoDatabase();
const ns = "cairn-churn";
const H = 3_600_000;

const gpus: Record<"a" | "b", DcgmGpu[]> = { a: [], b: [] };

let dir = "";
let cluster: FakeCluster;
let backend: KubernetesBackend;
let server: http.Server;
let prometheus: { url: string; stop: () => Promise<void> } | undefined;
let sampler: JobResourceSampler;
const job: Record<"busy" | "bare", { id: string; ref: string; pod: string }> = {} as never;

function spec(jobId: string, gpus: number): LaunchSpec {
  return {
    jobId, attempt: 1, team: "churn", runId: randomUUID().replace(/-/g, ""), experimentId: 7, image: null, source: "examples/churn", command: ["node", "train.mjs"],
    env: { PATH: "/usr/bin" }, workdir: path.join(dir, jobId), logFile: path.join(dir, jobId, "output.log"), maxRuntimeSeconds: 900,
    resources: { cpu: 4, memoryGib: 16, gpus, gpuType: "nvidia-t4" },
  };
}
const handlers: AttemptHandlers = { onExit: () => undefined, onMessage: () => undefined, onStarted: () => undefined };

const samplesOf = (id: string) => db().select().from(jobResourceSamples).where(eq(jobResourceSamples.jobId, id)).orderBy(jobResourceSamples.at, jobResourceSamples.id);

const NO_BINARY = "no prometheus binary on PATH (Debian: apt-get install prometheus; CI installs it)";
describe.skipIf(!binary)(binary ? "job samples carry their pods' GPU utilization from the DCGM exporter, through a real Prometheus" : `GPU utilization of job pods — skipped: ${NO_BINARY}`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "cairn-job-gpu-"));
    cluster = new FakeCluster();
    await cluster.listen();
    cluster.podMetrics = new Map();
    backend = new KubernetesBackend({ kubeConfig: cluster.kubeConfig(), pollMs: 100, killPollMs: 20, ttlSecondsAfterFinished: 600 });
    const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const run = await newRun(await tokenFor(db(), DEMO.admin, "churn"), "gpu-sample");
    for (const [name, count] of [["busy", 2], ["bare", 1]] as const) {
      const id = randomUUID();
      const { ref } = await backend.start(spec(id, count), handlers);
      const owner = parseRef(ref)!.name;
      const pod = await until(`${name}'s pod`, () => cluster.controller.podsOf(ns, owner)[0]?.metadata.name, 10);
      cluster.controller.run(ns, pod);
      cluster.podMetrics.set(pod, { cpu: "2", memory: "8Gi" });
      await db().insert(jobs).values({
        id, teamId: team!.id, experimentId: Number(run.exp), runId: run.run, userId: null, userEmail: DEMO.admin, name: `gpu-${name}`,
        spec: { source: null, command: ["true"], image: null, env: {}, instance_type: null, priority: "normal", max_runtime_seconds: 36_000, retries: 0 },
        cpu: 4, memoryGib: 16, gpus: count, gpuType: "nvidia-t4", hourlyPriceUsd: 1, attempt: 1, backend: "kubernetes", status: "running", backendRef: ref,
        startedAt: new Date(Date.now() - 2 * H),
      });
      job[name] = { id, ref, pod };
    }
    // Node a (honor_labels): the busy job's GPU 0 at 60 %, another job's GPU 1 at 10 %, a pod named like the busy job's
    // in another namespace at 100 %, GPU 3 idle and held by no pod. Node b (ServiceMonitor-style): the busy job's GPU at 80 %.
    gpus.a = [
      { gpu: 0, util: 60, namespace: ns, pod: job.busy.pod },
      { gpu: 1, util: 10, namespace: ns, pod: "cairn-job-someone-else-1-abcde" },
      { gpu: 2, util: 100, namespace: "cairn-vision", pod: job.busy.pod },
      { gpu: 3, util: 0 },
    ];
    gpus.b = [{ gpu: 0, util: 80, namespace: ns, pod: job.busy.pod }];
    server = http.createServer((req, res) => {
      const node = req.url === "/node-a/metrics" ? "a" : req.url === "/node-b/metrics" ? "b" : null;
      if (!node) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(dcgmExposition(node === "a" ? "gpu-node-a" : "nvidia-dcgm-exporter-b", gpus[node], "Tesla T4"));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    prometheus = await startTestPrometheus({
      binary: binary!, dir: path.join(dir, "prometheus"), port: await freePort(),
      scrapeConfigs: dcgmScrapeJobs(target, "nvidia-dcgm-exporter-b").join("\n"),
    });
    await until("both DCGM exporters scraped", async () => (await queryVector(prometheus!.url, DCGM_GPU_UTIL)).length === gpus.a.length + gpus.b.length, 40);
    const url = prometheus.url;
    sampler = new JobResourceSampler({ db: db(), backend, gpu: { read: () => readDcgmGpus(url), podsOf: (ref) => { const at = parseRef(ref); return at && { namespace: at.namespace, owner: at.name }; } } });
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise((r) => server?.close(r));
    await cluster?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reads each GPU with the pods it is attributed to, under either label scheme", async () => {
    const read = await readDcgmGpus(prometheus!.url);
    expect(podGpuUtilization(read, { namespace: ns, owner: parseRef(job.busy.ref)!.name })).toBe(0.7);
    expect(podGpuUtilization(read, { namespace: ns, owner: parseRef(job.bare.ref)!.name })).toBeNull();
    expect(read.find((g) => g.node === "gpu-node-b")!.pods).toEqual([{ namespace: ns, pod: job.busy.pod }]);
  });

  it("stores the mean utilization of the job's GPUs with its CPU and memory, and none for a job the exporter does not cover", async () => {
    await sampler.tick();
    const [busy] = await samplesOf(job.busy.id);
    expect(busy).toMatchObject({ cpuCores: 2, memoryBytes: 8 * 1024 ** 3, gpuUtilization: 0.7 });
    const [bare] = await samplesOf(job.bare.id);
    expect(bare).toMatchObject({ cpuCores: 2, gpuUtilization: null });
  });

  it("follows the exporter as utilization changes, and the meter charges used GPU-hours from the samples", async () => {
    gpus.a[0]!.util = 100;
    gpus.b[0]!.util = 100;
    await until("the new utilization scraped", async () => (await queryVector(prometheus!.url, `${DCGM_GPU_UTIL} == 100`)).length === 3, 40);
    await sampler.tick();
    expect((await samplesOf(job.busy.id)).map((s) => s.gpuUtilization)).toEqual([0.7, 1]);
    await meterCosts(db(), new Date());
    const [busy] = await db().select().from(costLedger).where(eq(costLedger.subjectId, job.busy.id));
    // 2 GPUs × mean(0.7, 1) × the period's hours.
    expect(busy!.usedGpuHours! / busy!.gpuHours!).toBeCloseTo(0.85, 6);
    expect(busy!.usageNote).toBeNull();
    const [bare] = await db().select().from(costLedger).where(eq(costLedger.subjectId, job.bare.id));
    expect(bare).toMatchObject({ usedGpuHours: null, usageNote: expect.stringMatching(/^GPU counted as requested: no DCGM exporter utilization was read/) });
  });

  it("keeps sampling CPU and memory when Prometheus stops answering, with no GPU reading", async () => {
    await prometheus!.stop();
    await sampler.tick();
    const all = await samplesOf(job.busy.id);
    expect(all).toHaveLength(3);
    expect(all[2]).toMatchObject({ cpuCores: 2, gpuUtilization: null });
  });
});
