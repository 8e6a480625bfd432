// What a set of pods uses now, the way every Kubernetes reader of Cairn asks it (a job's attempt, a deployment's
// replicas): metrics.k8s.io when the cluster serves it (asked at most once a minute), else the kubelet's cAdvisor
// series in Prometheus when one is configured, else "unavailable" with what to install — never an estimate.
import type { ApisApi, CustomObjectsApi } from "@kubernetes/client-node";
import { prometheusReady, prometheusUrl } from "../observability/prometheus";
import type { ResourceUsage } from "./backend";
import { podMetricsUsage, servesPodMetrics } from "./k8s-metrics";
import { prometheusPodUsage } from "./k8s-prometheus-usage";

export const NO_POD_METRICS =
  "pod metrics are not available on this cluster (it does not serve the metrics.k8s.io API; install metrics-server, or set PROMETHEUS_URL to a Prometheus that scrapes the kubelet's cAdvisor metrics)";

/** The pods to read: by label for metrics.k8s.io, by their owner's name (pods are "<owner>-<suffix>") for Prometheus. */
export type PodSet = { namespace: string; labelSelector: string; owner: string };

export class PodUsageReader {
  private metricsSeen: { value: boolean; at: number } | null = null;

  constructor(private readonly apis: ApisApi, private readonly custom: CustomObjectsApi) {}

  /** The pods' summed usage; null while none has been measured yet (or none runs). */
  async read(pods: PodSet): Promise<ResourceUsage | null> {
    if (!this.metricsSeen || Date.now() - this.metricsSeen.at > 60_000) {
      this.metricsSeen = { value: await servesPodMetrics(this.apis), at: Date.now() };
    }
    if (this.metricsSeen.value) {
      const measured = await podMetricsUsage(this.custom, { namespace: pods.namespace, labelSelector: pods.labelSelector });
      if (measured?.source !== "unavailable" || !prometheusReady()) return measured;
    }
    // No metrics.k8s.io (or it refuses us): the kubelet's cAdvisor series in Prometheus, when one is configured.
    if (prometheusReady()) return prometheusPodUsage(prometheusUrl(), { namespace: pods.namespace, job: pods.owner });
    return { source: "unavailable", reason: NO_POD_METRICS };
  }
}
