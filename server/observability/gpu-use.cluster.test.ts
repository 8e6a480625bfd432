// Measured where the exporter covers a node, allocated where it does not, on a real control plane (`npm run
// test:cluster`) and a real Prometheus (the Debian binary CI installs): the team's pod on one KWOK A100 node is
// measured from DCGM-exporter exposition naming it; its pod on the other A100 node, which no exporter covers, shows
// the allocated share the Kubernetes API gives.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { teams } from "@/db/schema";
import { demoDatabase } from "@/server/testing/fixtures";
import { until } from "@/server/testing/until";
import { gpuUse } from "./gpu-use";
import { findBinary, queryVector } from "./prometheus";
import { freePort, startTestPrometheus } from "./testing/prometheus";
import { dcgmExposition } from "./testing/dcgm";

const stateDir = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");
const binary = findBinary("prometheus", (process.env.PATH ?? "").split(path.delimiter).filter(Boolean));
const prometheusPort = await freePort();
process.env.CAIRN_COMPUTE_BACKEND = "kubernetes";
process.env.KUBECONFIG = path.join(stateDir, "kubeconfig");
process.env.PROMETHEUS_URL = `http://127.0.0.1:${prometheusPort}`;

const db = demoDatabase();
const suffix = randomBytes(3).toString("hex");
const team = `dcgm-${suffix}`;
const namespace = `cairn-${team}`;
const MEASURED_NODE = "kwok-gpu-a100-0";
const ALLOCATED_NODE = "kwok-gpu-a100-1";
const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-gpu-use-cluster-"));
let core: CoreV1Api;
let exporter: http.Server;
let prometheus: { url: string; stop: () => Promise<void> } | undefined;

const pinned = (name: string, node: string, gpus: number) => ({
  metadata: { name },
  spec: {
    nodeSelector: { "kubernetes.io/hostname": node },
    containers: [{ name: "main", image: "busybox", resources: { requests: { cpu: "100m", memory: "64Mi", "nvidia.com/gpu": String(gpus) }, limits: { cpu: "100m", memory: "64Mi", "nvidia.com/gpu": String(gpus) } } }],
  },
});

/** The DCGM exporter on MEASURED_NODE: GPUs 0 and 1 held by the team's pod (60 %, 20 %), 2 by another namespace, 3 idle. */
const exposition = () => dcgmExposition(MEASURED_NODE, [
  { gpu: 0, util: 60, namespace, pod: "train" }, { gpu: 1, util: 20, namespace, pod: "train" },
  { gpu: 2, util: 100, namespace: "kube-ml-sandbox", pod: "notebook-0" }, { gpu: 3, util: 0 },
]);

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  core = kc.makeApiClient(CoreV1Api);
  await db().update(teams).set({ slug: team }).where(eq(teams.slug, "vision"));
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await prometheus?.stop();
  await new Promise((r) => exporter?.close(r));
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!binary)(binary ? "GPU use on a cluster, measured and allocated" : "GPU use on a cluster — skipped: no prometheus binary on PATH (Debian: apt-get install prometheus)", () => {
  it("measures the node the DCGM exporter covers and gives the allocated share on the other", async () => {
    await core.createNamespacedPod({ namespace, body: pinned("train", MEASURED_NODE, 2) });
    await core.createNamespacedPod({ namespace, body: pinned("serve", ALLOCATED_NODE, 1) });
    for (const name of ["train", "serve"]) await until(`pod ${name} to run`, async () => (await core.readNamespacedPod({ namespace, name })).status?.phase === "Running");

    // Before Prometheus answers, both nodes are allocated.
    const before = (await gpuUse(db())).filter((r) => r.team === team);
    expect(before).toEqual([
      { team, node: MEASURED_NODE, utilization: 0.5, source: "allocated" },
      { team, node: ALLOCATED_NODE, utilization: 0.25, source: "allocated" },
    ]);

    exporter = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(exposition()));
    await new Promise<void>((r) => exporter.listen(0, "127.0.0.1", r));
    prometheus = await startTestPrometheus({
      binary: binary!, dir, port: prometheusPort,
      scrapeConfigs: `  - job_name: dcgm-exporter\n    static_configs: [{targets: ["127.0.0.1:${(exporter.address() as AddressInfo).port}"]}]`,
    });
    await until("the exporter scraped", async () => (await queryVector(prometheus!.url, "DCGM_FI_DEV_GPU_UTIL")).length === 4, 40);

    const after = (await gpuUse(db())).filter((r) => r.team === team);
    expect(after).toEqual([
      { team, node: MEASURED_NODE, utilization: 0.2, source: "measured" },
      { team, node: ALLOCATED_NODE, utilization: 0.25, source: "allocated" },
    ]);
  });
});
