// Pod usage from a real Prometheus (the Debian binary CI installs) scraping cAdvisor-shaped series: the attempt's
// pods' CPU rate and working set are summed, other Jobs' and namespaces' pods are not (a deployment's replicas are read
// the same way, from its Deployment's pods), and a Job Prometheus has no series for (or a Prometheus that does not
// answer) is "unavailable" with the reason, never an estimate.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectPrometheus, findBinary, prometheusUrl, releasePrometheus } from "../observability/prometheus";
import { ApisApi, CustomObjectsApi } from "@kubernetes/client-node";
import { KubernetesReplicaUsage } from "../deployments/replica-usage";
import { PodUsageReader } from "./k8s-pod-usage";
import { podSelector, prometheusPodUsage } from "./k8s-prometheus-usage";
import { servingName } from "./k8s-serving-manifest";
import { FakeCluster } from "./testing/fake-k8s";

const DEPLOYMENT = "0123abcd-4567-89ef-0123-456789abcdef";
const OTHER_DEPLOYMENT = "0123abcd-4568-89ef-0123-456789abcdef";
const binary = findBinary("prometheus", (process.env.PATH ?? "").split(path.delimiter).filter(Boolean));
const GIB = 1024 ** 3;
let exporter: http.Server;
let dir = "";
const started = Date.now();

/** What a kubelet's cAdvisor endpoint shows: CPU seconds growing at 0.5 and 0.25 cores, a fixed working set. */
function exposition(): string {
  const seconds = (Date.now() - started) / 1000;
  const series = [
    { ns: "cairn-churn", pod: "cairn-job-abc-1-x7k2p", container: "main", cores: 0.5, bytes: 1 * GIB },
    { ns: "cairn-churn", pod: "cairn-job-abc-1-x7k2p", container: "sidecar", cores: 0.25, bytes: 0.5 * GIB },
    // Another attempt of the same job (…-10) and the same Job name in another team: neither counts.
    { ns: "cairn-churn", pod: "cairn-job-abc-10-q9w8e", container: "main", cores: 3, bytes: 8 * GIB },
    { ns: "cairn-fraud", pod: "cairn-job-abc-1-zzzzz", container: "main", cores: 2, bytes: 4 * GIB },
    // Two replicas (pods of its Deployment's ReplicaSet) of one deployment, and a replica of another deployment.
    { ns: "cairn-churn", pod: `${servingName(DEPLOYMENT)}-5d9f7c6b8-x2x9q`, container: "model-server", cores: 0.125, bytes: 0.25 * GIB },
    { ns: "cairn-churn", pod: `${servingName(DEPLOYMENT)}-5d9f7c6b8-k7m4p`, container: "model-server", cores: 0.125, bytes: 0.25 * GIB },
    { ns: "cairn-churn", pod: `${servingName(OTHER_DEPLOYMENT)}-7c8d9e0f1-q1w2e`, container: "model-server", cores: 1, bytes: 2 * GIB },
  ];
  return [
    "# TYPE container_cpu_usage_seconds_total counter",
    ...series.map((s) => `container_cpu_usage_seconds_total{namespace="${s.ns}",pod="${s.pod}",container="${s.container}"} ${(s.cores * seconds).toFixed(3)}`),
    "# TYPE container_memory_working_set_bytes gauge",
    ...series.map((s) => `container_memory_working_set_bytes{namespace="${s.ns}",pod="${s.pod}",container="${s.container}"} ${s.bytes}`),
    "",
  ].join("\n");
}

describe("a job's selector", () => {
  it("matches the Job's pods only, with regex characters in the name taken literally", () => {
    expect(podSelector({ namespace: "cairn-churn", job: "cairn-job-abc-1" })).toBe('namespace="cairn-churn",pod=~"cairn-job-abc-1-.+",container!="",container!="POD"');
    expect(podSelector({ namespace: "n", job: "a.b" })).toContain('pod=~"a\\\\.b-.+"');
  });
});

describe.skipIf(!binary)("pod usage from Prometheus", () => {
  beforeAll(async () => {
    exporter = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(exposition()));
    await new Promise<void>((r) => exporter.listen(0, "127.0.0.1", r));
    dir = mkdtempSync(path.join(os.tmpdir(), "cairn-prometheus-usage-"));
    await connectPrometheus({ managed: { binary: binary!, dir, scrapeTarget: `127.0.0.1:${(exporter.address() as AddressInfo).port}`, scrapeIntervalSeconds: 1, scrapeToken: "unused" } });
  }, 60_000);

  afterAll(async () => {
    await releasePrometheus();
    await new Promise((r) => exporter?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("sums the CPU rate and working set of the attempt's containers", async () => {
    const deadline = Date.now() + 40_000;
    let usage = await prometheusPodUsage(prometheusUrl(), { namespace: "cairn-churn", job: "cairn-job-abc-1" }, 30);
    while (usage.source !== "prometheus" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      usage = await prometheusPodUsage(prometheusUrl(), { namespace: "cairn-churn", job: "cairn-job-abc-1" }, 30);
    }
    expect(usage.source, JSON.stringify(usage)).toBe("prometheus");
    if (usage.source !== "prometheus") return;
    expect(usage.cpuCores).toBeGreaterThan(0.6);
    expect(usage.cpuCores).toBeLessThan(0.9);
    expect(usage.memoryBytes).toBe(1.5 * GIB);
  }, 60_000);

  it("reads a deployment's replicas (its Deployment's pods) when the cluster has no metrics.k8s.io", async () => {
    // The API server serves no metrics.k8s.io, so the serving reader falls back to the Prometheus connected above.
    const cluster = new FakeCluster();
    await cluster.listen();
    try {
      const kc = cluster.kubeConfig();
      const reader = new KubernetesReplicaUsage(new PodUsageReader(kc.makeApiClient(ApisApi), kc.makeApiClient(CustomObjectsApi)));
      let usage = await reader.usage({ id: DEPLOYMENT, team: "churn" });
      const deadline = Date.now() + 40_000;
      while (usage?.source !== "prometheus" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        usage = await reader.usage({ id: DEPLOYMENT, team: "churn" });
      }
      expect(usage?.source, JSON.stringify(usage)).toBe("prometheus");
      if (usage?.source !== "prometheus") return;
      expect(usage.cpuCores).toBeGreaterThan(0.15);
      expect(usage.cpuCores).toBeLessThan(0.4);
      expect(usage.memoryBytes).toBe(0.5 * GIB);
      expect(usage.replicas).toBeNull();
    } finally {
      await cluster.close();
    }
  }, 60_000);

  it("says usage is not readable for a Job Prometheus has no series for, and for a Prometheus that does not answer", async () => {
    const none = await prometheusPodUsage(prometheusUrl(), { namespace: "cairn-churn", job: "cairn-job-none-1" });
    expect(none).toMatchObject({ source: "unavailable", reason: expect.stringMatching(/Prometheus has no container_cpu_usage_seconds_total for the pods of cairn-job-none-1/) });
    const down = await prometheusPodUsage("http://127.0.0.1:9", { namespace: "cairn-churn", job: "cairn-job-abc-1" });
    expect(down).toMatchObject({ source: "unavailable", reason: expect.stringMatching(/did not answer/) });
  });
});
