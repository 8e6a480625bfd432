// Allocated GPU shares read from a real control plane (`npm run test:cluster`): a team's running pod holding 2 of a
// KWOK A100 node's 4 GPUs is half that node for the team; a pod of a namespace that is no team's counts for nobody.
// Without PROMETHEUS_URL nothing is measured, so every row is "allocated".
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { teams } from "@/db/schema";
import { gpuUse } from "@/server/observability/gpu-use";
import { demoDatabase } from "@/server/testing/fixtures";
import { until } from "@/server/testing/until";
import { readClusterGpus } from "./k8s-gpu-allocation";

const stateDir = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");
// This Cairn runs on the cluster, with no Prometheus to read the DCGM exporter from.
process.env.CAIRN_COMPUTE_BACKEND = "kubernetes";
process.env.KUBECONFIG = path.join(stateDir, "kubeconfig");
delete process.env.PROMETHEUS_URL;

const db = demoDatabase();
const suffix = randomBytes(3).toString("hex");
const team = `gpu-${suffix}`;
const namespace = `cairn-${team}`;
const outsider = `gpu-outsider-${suffix}`;
let core: CoreV1Api;

const gpuPod = (name: string, gpus: number) => ({
  metadata: { name },
  spec: {
    nodeSelector: { "gpu-type": "nvidia-a100" },
    containers: [{ name: "main", image: "busybox", resources: { requests: { cpu: "100m", memory: "64Mi", "nvidia.com/gpu": String(gpus) }, limits: { cpu: "100m", memory: "64Mi", "nvidia.com/gpu": String(gpus) } } }],
  },
});

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  core = kc.makeApiClient(CoreV1Api);
  await db().update(teams).set({ slug: team }).where(eq(teams.slug, "vision"));
  for (const name of [namespace, outsider]) await core.createNamespace({ body: { metadata: { name } } });
});

afterAll(async () => {
  for (const name of [namespace, outsider]) await core?.deleteNamespace({ name }).catch(() => undefined);
});

describe("allocated GPU shares on a cluster", () => {
  it("gives a team its pods' GPUs over the node's allocatable GPUs, and a namespace of no team nothing", async () => {
    await core.createNamespacedPod({ namespace, body: gpuPod("train", 2) });
    await core.createNamespacedPod({ namespace: outsider, body: gpuPod("notebook", 1) });
    const running = async (ns: string, name: string) => {
      const pod = await core.readNamespacedPod({ namespace: ns, name });
      return pod.status?.phase === "Running" ? pod.spec?.nodeName : null;
    };
    const node = await until("the team's GPU pod to run", () => running(namespace, "train"));
    await until("the outsider's GPU pod to run", () => running(outsider, "notebook"));

    const read = await readClusterGpus();
    expect(read.capacity.get(node)).toBe(4);
    expect(read.pods).toEqual(expect.arrayContaining([{ namespace, node, gpus: 2 }, { namespace: outsider, node: expect.any(String), gpus: 1 }]));

    const rows = await gpuUse(db());
    expect(rows.filter((r) => r.team === team)).toEqual([{ team, node, utilization: 0.5, source: "allocated" }]);
    expect(rows.every((r) => r.source === "allocated")).toBe(true);
    expect(rows.some((r) => r.team.includes("outsider"))).toBe(false);
  });
});
