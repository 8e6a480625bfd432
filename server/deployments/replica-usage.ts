// What a deployment's replicas use now, together — the serving resource sampler's reading (server/workers/
// serving-resources.ts). Locally each replica is a model-server process of this server (./local-serving.ts), read
// from /proc with its children exactly as a local job is (../compute/process-usage.ts); on Kubernetes the
// deployment's pods, read as a job's pods are (../compute/k8s-pod-usage.ts).
import type { ResourceUsage } from "../compute/backend";
import type { PodUsageReader } from "../compute/k8s-pod-usage";
import { namespaceFor } from "../compute/k8s-manifest";
import { SERVING_COMPONENT, SERVING_LABELS, servingName } from "../compute/k8s-serving-manifest";
import { coresBetween, processTreeUsage, uptimeSeconds } from "../compute/process-usage";

/** The replicas' summed CPU cores and memory bytes, with how many replica processes were read (null: the source sums pods without counting them). */
export type ReplicaUsage =
  | { source: "process" | "pod-metrics" | "prometheus"; cpuCores: number; memoryBytes: number; replicas: number | null }
  | Extract<ResourceUsage, { source: "unavailable" }>;

export type ServedDeployment = { id: string; team: string };

export interface ServingUsageReader {
  readonly backend: "local" | "kubernetes";
  /** What the deployment's replicas use now; null when no replica is up to read (none started, or not served here). */
  usage(d: ServedDeployment): Promise<ReplicaUsage | null>;
}

type Reading = { cpuSeconds: number; at: number };

/** Local replicas: each replica process and everything below it, from /proc. */
export class LocalReplicaUsage implements ServingUsageReader {
  readonly backend = "local" as const;
  /** The last CPU reading of each replica process, by deployment and "<pid>:<start>" (a restart is a new process). */
  private readonly seen = new Map<string, Map<string, Reading>>();

  /** `replicas` lists a deployment's replicas as this process runs them (deploymentRuntime().replicas); null: not served here. */
  constructor(private readonly replicas: (deploymentId: string) => readonly { pid: number | null }[] | null) {}

  async usage(d: ServedDeployment): Promise<ReplicaUsage | null> {
    const list = this.replicas(d.id);
    const before = this.seen.get(d.id) ?? new Map<string, Reading>();
    const now = new Map<string, Reading>();
    const at = uptimeSeconds();
    let cpuCores = 0;
    let memoryBytes = 0;
    for (const r of list ?? []) {
      if (r.pid === null) continue;
      const tree = processTreeUsage(r.pid);
      if (!tree) continue;
      const key = `${r.pid}:${tree.rootStartSeconds}`;
      cpuCores += coresBetween(before.get(key) ?? null, tree, at);
      memoryBytes += tree.memoryBytes;
      now.set(key, { cpuSeconds: tree.cpuSeconds, at });
    }
    // Replicas that ended are forgotten with their readings.
    if (now.size === 0) {
      this.seen.delete(d.id);
      return null;
    }
    this.seen.set(d.id, now);
    return { source: "process", cpuCores, memoryBytes, replicas: now.size };
  }
}

/** The pods of a served deployment: its Deployment's pod labels (k8s-serving-manifest.ts), in its team's namespace. */
export function servingPods(d: ServedDeployment): { namespace: string; labelSelector: string; owner: string } {
  return {
    namespace: namespaceFor(d.team),
    labelSelector: `${SERVING_LABELS.component}=${SERVING_COMPONENT},${SERVING_LABELS.deployment}=${d.id}`,
    owner: servingName(d.id),
  };
}

/** Kubernetes replicas: the deployment's pods from metrics.k8s.io, or Prometheus' cAdvisor series without it. */
export class KubernetesReplicaUsage implements ServingUsageReader {
  readonly backend = "kubernetes" as const;

  constructor(private readonly pods: PodUsageReader) {}

  async usage(d: ServedDeployment): Promise<ReplicaUsage | null> {
    const read = await this.pods.read(servingPods(d));
    if (!read || read.source === "unavailable") return read;
    return { ...read, replicas: null };
  }
}
