// platform_gpu_utilization measured where the cluster exposes it: a real Prometheus (the Debian binary CI installs)
// scrapes DCGM-exporter exposition for two GPU nodes — one job with honor_labels on (the exporter's namespace/pod
// kept), one with it off behind target labels as a ServiceMonitor sets them (so Prometheus renames them to
// exported_namespace/exported_pod) — and Cairn's /api/metrics. Cairn, on the Kubernetes backend with PROMETHEUS_URL,
// reports each team's share of each node's GPUs as measured; a namespace of no team and another team's GPUs count
// for nobody else; a node the exporter does not cover, or a Prometheus that stops answering, falls back to allocated.
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricsToken } from "@/server/env";
import { AppError } from "@/server/errors";
import { gpuUse, measuredGpuUse, teamNamespaces } from "@/server/observability/gpu-use";
import type { ClusterGpuReader } from "@/server/observability/gpu-use";
import { forgetGaugeReads } from "@/server/observability/platform-gauges";
import { connectPrometheus, findBinary, queryVector, releasePrometheus } from "@/server/observability/prometheus";
import { dcgmExposition, dcgmScrapeJobs } from "@/server/observability/testing/dcgm";
import type { DcgmGpu } from "@/server/observability/testing/dcgm";
import { freePort, startTestPrometheus } from "@/server/observability/testing/prometheus";
import { platformHealth } from "@/server/platform/health";
import { DEMO, call, ctxFor, demoDatabase } from "@/server/testing/fixtures";
import { until } from "@/server/testing/until";
import { GET as metricsGET } from "./route";

const binary = findBinary("prometheus", (process.env.PATH ?? "").split(path.delimiter).filter(Boolean));
const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-gpu-utilization-"));
// This Cairn runs on Kubernetes with PROMETHEUS_URL (env() is read lazily, so these hold for every call below). Its
// kubeconfig names an API server nobody listens on: allocated shares from the cluster are unreadable (and logged),
// except where a test hands gpuUse the cluster's pods and nodes itself.
const prometheusPort = await freePort();
process.env.CAIRN_COMPUTE_BACKEND = "kubernetes";
process.env.PROMETHEUS_URL = `http://127.0.0.1:${prometheusPort}`;
process.env.KUBECONFIG = path.join(dir, "kubeconfig");
writeFileSync(process.env.KUBECONFIG, [
  "apiVersion: v1", "kind: Config", "current-context: none",
  "clusters: [{name: none, cluster: {server: 'https://127.0.0.1:9'}}]",
  "users: [{name: none, user: {token: unused}}]",
  "contexts: [{name: none, context: {cluster: none, user: none}}]", "",
].join("\n"));

const db = demoDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// gpu-node-a, scraped with honor_labels: the exporter runs with the node's name as its Hostname. Vision holds GPUs 0
// and 1 (80 % and 40 %), churn GPU 2 (100 %), GPU 3 is idle and held by no pod.
const NODE_A: DcgmGpu[] = [
  { gpu: 0, util: 80, namespace: "cairn-vision", pod: "cairn-job-aaaa1111-1-x7k2p" },
  { gpu: 1, util: 40, namespace: "cairn-vision", pod: "cairn-job-aaaa1111-1-x7k2p" },
  { gpu: 2, util: 100, namespace: "cairn-churn", pod: "cairn-job-bbbb2222-1-q9w8e" },
  { gpu: 3, util: 0 },
];
// gpu-node-b, behind a ServiceMonitor-style target (honor_labels off; the node's name relabelled into `node`, the
// exporter's Hostname is its pod's). GPU 0: a namespace of no team (90 %); GPU 1 time-sliced between vision and
// fraud (50 %); GPU 2: cairn-ghost, a namespace shaped like a team's whose team does not exist (70 %).
const NODE_B: DcgmGpu[] = [
  { gpu: 0, util: 90, namespace: "kube-ml-sandbox", pod: "notebook-0" },
  { gpu: 1, util: 50, namespace: "cairn-vision", pod: "vision-serve-6d9f-abcde" },
  { gpu: 1, util: 50, namespace: "cairn-fraud", pod: "cairn-job-cccc3333-2-zzzzz" },
  { gpu: 2, util: 70, namespace: "cairn-ghost", pod: "cairn-job-dddd4444-1-yyyyy" },
];
const EXPECTED = [
  { team: "churn", node: "gpu-node-a", utilization: 0.25, source: "measured" },
  { team: "fraud", node: "gpu-node-b", utilization: 0.0833, source: "measured" },
  { team: "vision", node: "gpu-node-a", utilization: 0.3, source: "measured" },
  { team: "vision", node: "gpu-node-b", utilization: 0.0833, source: "measured" },
];

let server: http.Server;
let prometheus: { url: string; stop: () => Promise<void> } | undefined;

const NO_BINARY = "no prometheus binary on PATH (Debian: apt-get install prometheus; CI installs it)";
describe.skipIf(!binary)(binary ? "GPU utilization measured by the DCGM exporter, through a real Prometheus" : `GPU utilization through Prometheus — skipped: ${NO_BINARY}`, () => {
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/node-a/metrics") return void res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(dcgmExposition("gpu-node-a", NODE_A));
      if (req.url === "/node-b/metrics") return void res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(dcgmExposition("nvidia-dcgm-exporter-7x2kq", NODE_B));
      // Cairn's /api/metrics, as the scrape token reads it.
      const headers = new Headers();
      if (req.headers.authorization) headers.set("authorization", req.headers.authorization);
      void metricsGET(new Request("http://localhost/api/metrics", { headers })).then(async (r) => res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/plain" }).end(await r.text()));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    writeFileSync(path.join(dir, "token"), metricsToken(), { mode: 0o600 });
    prometheus = await startTestPrometheus({
      binary: binary!, dir: path.join(dir, "prometheus"), port: prometheusPort,
      scrapeConfigs: [
        ...dcgmScrapeJobs(target, "nvidia-dcgm-exporter-7x2kq"),
        "  - job_name: cairn",
        "    metrics_path: /api/metrics",
        `    authorization: {type: Bearer, credentials_file: ${JSON.stringify(path.join(dir, "token"))}}`,
        `    static_configs: [{targets: ["${target}"]}]`,
      ].join("\n"),
    });
    // Both exporters scraped (and, on node b, the exporter's namespace/pod renamed to exported_*).
    await until("both DCGM exporters scraped", async () => {
      const rows = await queryVector(prometheus!.url, "DCGM_FI_DEV_GPU_UTIL");
      return rows.length === NODE_A.length + NODE_B.length;
    }, 40);
  }, 90_000);

  afterAll(async () => {
    await releasePrometheus();
    await prometheus?.stop();
    await new Promise((r) => server?.close(r));
  });

  it("stores node b's pod labels as exported_namespace/exported_pod beside the exporter's own namespace", async () => {
    const b = await queryVector(prometheus!.url, 'DCGM_FI_DEV_GPU_UTIL{node="gpu-node-b"}');
    expect(b).toHaveLength(NODE_B.length);
    for (const s of b) expect(s.labels).toMatchObject({ namespace: "gpu-operator", exported_namespace: expect.stringMatching(/./), exported_pod: expect.stringMatching(/./) });
    const a = await queryVector(prometheus!.url, 'DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-node-a"}');
    expect(a.filter((s) => s.labels.namespace === "cairn-vision")).toHaveLength(2);
    expect(a.some((s) => "exported_namespace" in s.labels)).toBe(false);
  });

  it("reports each team's measured share of each node's GPUs, other teams' and teamless namespaces' GPUs not counted", async () => {
    const rows = await gpuUse(db());
    expect(rows).toEqual(EXPECTED);
    expect(rows.some((r) => r.team === "ghost" || r.team.includes("sandbox"))).toBe(false);
  });

  it("exports platform_gpu_utilization{team,node} and says where each comes from in platform_gpu_utilization_info", async () => {
    forgetGaugeReads();
    const text = (await call(metricsGET, { token: metricsToken() })).json as string;
    const series = [...text.matchAll(/^platform_gpu_utilization\{(.*)\} (.+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(series).toEqual(EXPECTED.map((r) => `team="${r.team}",node="${r.node}" ${r.utilization}`));
    const info = [...text.matchAll(/^platform_gpu_utilization_info\{(.*)\} (.+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(info).toEqual(EXPECTED.map((r) => `team="${r.team}",node="${r.node}",source="measured" 1`));
    // The public exposition sums over teams: each node's GPUs busy with any team's work.
    forgetGaugeReads();
    const open = (await call(metricsGET)).json as string;
    expect(open).toMatch(/^platform_gpu_utilization\{node="gpu-node-a"\} 0\.55$/m);
  });

  it("lets a Prometheus user join the source onto the value", async () => {
    const joined = await until("Cairn's GPU series scraped", async () => {
      const rows = await queryVector(prometheus!.url, 'platform_gpu_utilization * on (team, node) group_left (source) platform_gpu_utilization_info{source="measured"}');
      return rows.length === EXPECTED.length ? rows : null;
    }, 40);
    const got = joined.map((r) => ({ team: r.labels.team, node: r.labels.node, utilization: r.value, source: r.labels.source })).sort((a, b) => a.team!.localeCompare(b.team!) || a.node!.localeCompare(b.node!));
    expect(got).toEqual(EXPECTED);
  });

  it("shows the same rows, with their source, on the Platform page's answer", async () => {
    await connectPrometheus({ url: prometheus!.url });
    const h = await platformHealth(await ctxFor(db(), DEMO.admin), { window: "5m", scrapeSeconds: 1 });
    expect(h.source).toBe("prometheus");
    expect(h.gpus.nodes).toEqual(EXPECTED);
    // Per team, `utilization` stays the allocated share: nothing here is allocated.
    expect(h.gpus.teams.map((t) => t.team)).toEqual(expect.arrayContaining(["churn", "fraud", "vision"]));
    expect(h.gpus.teams.every((t) => t.utilization === null)).toBe(true);
    await releasePrometheus();
  });

  it("falls back to allocated shares on nodes the exporter does not cover", async () => {
    const cluster: ClusterGpuReader = async () => ({
      pods: [
        { namespace: "cairn-vision", node: "gpu-node-a", gpus: 2 }, // measured there: not repeated as allocated
        { namespace: "cairn-vision", node: "gpu-node-c", gpus: 2 },
        { namespace: "kube-ml-sandbox", node: "gpu-node-c", gpus: 4 },
      ],
      capacity: new Map([["gpu-node-a", 4], ["gpu-node-b", 3], ["gpu-node-c", 8]]),
    });
    const rows = await gpuUse(db(), { cluster });
    expect(rows).toEqual([...EXPECTED, { team: "vision", node: "gpu-node-c", utilization: 0.25, source: "allocated" }].sort((a, b) => a.team.localeCompare(b.team) || a.node.localeCompare(b.node)));
  });

  it("leaves out a Kubernetes API that does not answer within 3 s rather than hold the scrape", async () => {
    const started = Date.now();
    const rows = await gpuUse(db(), { cluster: () => new Promise(() => undefined) });
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(rows).toEqual(EXPECTED);
  });

  it("falls back to allocated shares everywhere when Prometheus stops answering", async () => {
    await prometheus!.stop();
    await expect(measuredGpuUse(prometheus!.url, teamNamespaces(["vision"]))).rejects.toThrow(AppError);
    const rows = await gpuUse(db(), { cluster: async () => ({ pods: [{ namespace: "cairn-vision", node: "gpu-node-a", gpus: 2 }], capacity: new Map([["gpu-node-a", 4]]) }) });
    expect(rows).toEqual([{ team: "vision", node: "gpu-node-a", utilization: 0.5, source: "allocated" }]);
    expect(await gpuUse(db())).toEqual([]);
  });
});
