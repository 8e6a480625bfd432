// GPU use arithmetic: which node and pod a DCGM series is about (honor_labels on and off), each team's share of a
// node's GPUs (idle and unattributed GPUs count in the node, a namespace of no team counts for nobody, a shared GPU
// is split), and allocated shares from the cluster's pods. Against a real Prometheus: app/api/metrics/gpu-utilization.test.ts.
import { describe, expect, it } from "vitest";
import { allocatedShares, dcgmNode, dcgmPod, measuredShares, teamNamespaces } from "./gpu-use";

const teamOf = teamNamespaces(["vision", "churn"]);
const gpu = (node: string, id: string, value: number | null, pod?: { ns: string; pod: string }) => ({
  labels: { __name__: "DCGM_FI_DEV_GPU_UTIL", gpu: id, UUID: `GPU-${node}-${id}`, modelName: "NVIDIA A100-SXM4-80GB", Hostname: node, ...(pod ? { namespace: pod.ns, pod: pod.pod, container: "main" } : {}) },
  value,
});

describe("a DCGM series' node and pod", () => {
  it("reads node (relabelled) before the exporter's Hostname", () => {
    expect(dcgmNode({ Hostname: "dcgm-exporter-x7k2p", node: "gpu-1" })).toBe("gpu-1");
    expect(dcgmNode({ Hostname: "gpu-2" })).toBe("gpu-2");
    expect(dcgmNode({ gpu: "0" })).toBeNull();
  });

  it("takes exported_namespace/exported_pod over the exporter's own namespace when Prometheus renamed them", () => {
    expect(dcgmPod({ namespace: "cairn-vision", pod: "p" })).toEqual({ namespace: "cairn-vision", pod: "p" });
    expect(dcgmPod({ namespace: "gpu-operator", pod: "nvidia-dcgm-exporter-abc", exported_namespace: "cairn-vision", exported_pod: "p" })).toEqual({ namespace: "cairn-vision", pod: "p" });
    expect(dcgmPod({ namespace: "gpu-operator", pod: "nvidia-dcgm-exporter-abc" })).toEqual({ namespace: "gpu-operator", pod: "nvidia-dcgm-exporter-abc" });
    expect(dcgmPod({ gpu: "0" })).toBeNull();
  });

  it("maps the live teams' namespaces only", () => {
    expect(teamOf("cairn-vision")).toBe("vision");
    expect(teamOf("cairn-fraud")).toBeNull();
    expect(teamOf("vision")).toBeNull();
  });
});

describe("measured shares", () => {
  it("divides what each team's GPUs did by every GPU on the node", () => {
    const { nodes, rows } = measuredShares([
      gpu("a", "0", 80, { ns: "cairn-vision", pod: "v1" }),
      gpu("a", "1", 40, { ns: "cairn-vision", pod: "v2" }),
      gpu("a", "2", 100, { ns: "cairn-churn", pod: "c1" }),
      gpu("a", "3", 0),
      gpu("b", "0", 90, { ns: "kube-sandbox", pod: "s" }),
      gpu("b", "1", 50, { ns: "cairn-vision", pod: "v3" }),
      gpu("b", "1", 50, { ns: "cairn-fraud", pod: "f1" }),
    ], teamOf);
    expect([...nodes].sort()).toEqual(["a", "b"]);
    expect(rows).toEqual([
      { team: "churn", node: "a", utilization: 0.25 },
      { team: "vision", node: "a", utilization: 0.3 },
      // GPU 1 of b is time-sliced between vision and a namespace of no team: vision gets half of its 50 %.
      { team: "vision", node: "b", utilization: 0.125 },
    ]);
  });

  it("counts a GPU without a value in the node but in no share, and skips series without a node", () => {
    const { nodes, rows } = measuredShares([gpu("a", "0", null, { ns: "cairn-vision", pod: "v" }), gpu("a", "1", 60, { ns: "cairn-vision", pod: "v" }), { labels: { gpu: "0" }, value: 99 }], teamOf);
    expect([...nodes]).toEqual(["a"]);
    expect(rows).toEqual([{ team: "vision", node: "a", utilization: 0.3 }]);
  });
});

describe("allocated shares on a cluster", () => {
  it("sums the team's pods' GPUs per node over the node's allocatable GPUs, ignoring other namespaces and nodes without GPUs", () => {
    const rows = allocatedShares({
      pods: [
        { namespace: "cairn-vision", node: "n1", gpus: 2 },
        { namespace: "cairn-vision", node: "n1", gpus: 1 },
        { namespace: "cairn-churn", node: "n1", gpus: 1 },
        { namespace: "kube-system", node: "n1", gpus: 4 },
        { namespace: "cairn-vision", node: "cpu-1", gpus: 1 },
      ],
      capacity: new Map([["n1", 8], ["cpu-1", 0]]),
    }, teamOf);
    expect(rows).toEqual([{ team: "churn", node: "n1", utilization: 0.125 }, { team: "vision", node: "n1", utilization: 0.375 }]);
  });
});
