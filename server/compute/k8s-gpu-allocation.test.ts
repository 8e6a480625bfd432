// What the cluster's pods and nodes say about allocated GPUs: a pod's effective GPU request, running scheduled pods
// only, each node's allocatable GPUs. Read from a real control plane in k8s-gpu-allocation.cluster.test.ts.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { clusterGpus, podGpus } from "./k8s-gpu-allocation";

const pod = (name: string, opts: { ns?: string; node?: string; phase?: string; gpus?: string[]; init?: string }): V1Pod => ({
  metadata: { name, namespace: opts.ns ?? "cairn-vision" },
  spec: {
    nodeName: opts.node,
    containers: (opts.gpus ?? []).map((g, i) => ({ name: `c${i}`, resources: { requests: { cpu: "1", "nvidia.com/gpu": g } } })),
    initContainers: opts.init ? [{ name: "init", resources: { requests: { "nvidia.com/gpu": opts.init } } }] : [],
  },
  status: { phase: opts.phase ?? "Running" },
});

describe("allocated GPUs from pods and nodes", () => {
  it("takes the containers' sum, or an init container's request when larger", () => {
    expect(podGpus(pod("a", { gpus: ["1", "2"] }))).toBe(3);
    expect(podGpus(pod("b", { gpus: ["1"], init: "4" }))).toBe(4);
    expect(podGpus(pod("c", {}))).toBe(0);
  });

  it("keeps running, scheduled pods with GPUs, and every node's allocatable GPUs", () => {
    const nodes: V1Node[] = [
      { metadata: { name: "gpu-a100-0" }, status: { allocatable: { cpu: "32", "nvidia.com/gpu": "8" } } },
      { metadata: { name: "cpu-0" }, status: { allocatable: { cpu: "16" } } },
    ];
    const read = clusterGpus([
      pod("run", { node: "gpu-a100-0", gpus: ["2"] }),
      pod("pending", { gpus: ["1"], phase: "Pending" }),
      pod("done", { node: "gpu-a100-0", gpus: ["1"], phase: "Succeeded" }),
      pod("cpu", { node: "cpu-0", gpus: [] }),
    ], nodes);
    expect(read.pods).toEqual([{ namespace: "cairn-vision", node: "gpu-a100-0", gpus: 2 }]);
    expect([...read.capacity]).toEqual([["gpu-a100-0", 8], ["cpu-0", 0]]);
  });
});
