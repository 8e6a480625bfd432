// The cluster's allocated GPUs, for GPU use on nodes the DCGM exporter does not cover: each running pod's GPU request
// (nvidia.com/gpu, as the scheduler counts it) with its node, and each node's allocatable GPUs, from the Kubernetes API.
import { CoreV1Api } from "@kubernetes/client-node";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { parseQuantity } from "../tenants/quantity";
import { k8sCall } from "./k8s-api";
import { defaultKubeConfig } from "./kubernetes";

const GPU = "nvidia.com/gpu";

const gpusOf = (r: Record<string, string> | undefined) => {
  const n = r?.[GPU] === undefined ? 0 : parseQuantity(r[GPU]!);
  return Number.isFinite(n) ? n : 0;
};

/** A pod's GPU request: its containers' sum, or an init container's if larger (the scheduler's effective request). */
export function podGpus(pod: V1Pod): number {
  const sum = (pod.spec?.containers ?? []).reduce((n, c) => n + gpusOf(c.resources?.requests as Record<string, string> | undefined), 0);
  const init = Math.max(0, ...(pod.spec?.initContainers ?? []).map((c) => gpusOf(c.resources?.requests as Record<string, string> | undefined)));
  return Math.max(sum, init);
}

/** The running, scheduled pods that request GPUs, and every node's allocatable GPUs. */
export function clusterGpus(pods: V1Pod[], nodes: V1Node[]): { pods: { namespace: string; node: string; gpus: number }[]; capacity: Map<string, number> } {
  return {
    pods: pods.flatMap((p) => {
      const node = p.spec?.nodeName;
      const gpus = podGpus(p);
      return node && p.status?.phase === "Running" && gpus > 0 ? [{ namespace: p.metadata?.namespace ?? "", node, gpus }] : [];
    }),
    capacity: new Map(nodes.map((n) => [n.metadata?.name ?? "", gpusOf(n.status?.allocatable as Record<string, string> | undefined)])),
  };
}

/** Reads pods and nodes from the cluster Cairn runs on (KUBECONFIG, ~/.kube/config, in-cluster). */
export async function readClusterGpus(): Promise<ReturnType<typeof clusterGpus>> {
  const core = defaultKubeConfig().makeApiClient(CoreV1Api);
  const [pods, nodes] = await Promise.all([
    k8sCall("list Pods", () => core.listPodForAllNamespaces({ fieldSelector: "status.phase=Running" })),
    k8sCall("list Nodes", () => core.listNode({})),
  ]);
  return clusterGpus(pods.items, nodes.items);
}
