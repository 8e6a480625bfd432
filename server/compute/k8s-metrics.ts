// Pod CPU and memory from the resource metrics API (metrics.k8s.io, served by metrics-server): what `kubectl
// top pod` shows. Clusters without it answer "unavailable", never an estimate.
import type { ApisApi, CustomObjectsApi } from "@kubernetes/client-node";
import { parseQuantity } from "../tenants/quantity";
import type { ResourceUsage } from "./backend";
import { hasStatus, k8sCall } from "./k8s-api";

type PodMetrics = { items?: { containers?: { name?: string; usage?: { cpu?: string; memory?: string } }[] }[] };

/** A metrics quantity in base units: CPU comes in nanocores ("2500000n") or microcores ("250u") too. */
export function metricQuantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(n|u)$/.exec(q.trim());
  if (m) return Number(m[1]) * (m[2] === "n" ? 1e-9 : 1e-6);
  return parseQuantity(q);
}

/** Whether the cluster serves the resource metrics API group. */
export async function servesPodMetrics(apis: ApisApi): Promise<boolean> {
  const groups = await k8sCall("list API groups", () => apis.getAPIVersions());
  return groups.groups.some((g) => g.name === "metrics.k8s.io");
}

/** The summed usage of the pods `labelSelector` selects; null while none has been measured yet. */
export async function podMetricsUsage(custom: CustomObjectsApi, at: { namespace: string; labelSelector: string }): Promise<ResourceUsage | null> {
  let list: PodMetrics;
  try {
    list = (await k8sCall("read pod metrics", () =>
      custom.listNamespacedCustomObject({ group: "metrics.k8s.io", version: "v1beta1", namespace: at.namespace, plural: "pods", labelSelector: at.labelSelector }))) as PodMetrics;
  } catch (err) {
    if (hasStatus(err, 404)) return { source: "unavailable", reason: "pod metrics are not available on this cluster (metrics.k8s.io answered 404)" };
    if (hasStatus(err, 403)) return { source: "unavailable", reason: "Cairn's Kubernetes account may not read pod metrics (metrics.k8s.io pods: get, list)" };
    throw err;
  }
  const containers = (list.items ?? []).flatMap((p) => p.containers ?? []);
  if (containers.length === 0) return null;
  let cpuCores = 0;
  let memoryBytes = 0;
  for (const c of containers) {
    const cpu = metricQuantity(c.usage?.cpu ?? "0");
    const memory = metricQuantity(c.usage?.memory ?? "0");
    if (Number.isFinite(cpu)) cpuCores += cpu;
    if (Number.isFinite(memory)) memoryBytes += memory;
  }
  return { source: "pod-metrics", cpuCores, memoryBytes: Math.round(memoryBytes) };
}
