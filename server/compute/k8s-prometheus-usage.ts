// Pod CPU and memory from Prometheus, for clusters without metrics.k8s.io: the kubelet's cAdvisor series
// (container_cpu_usage_seconds_total as its latest rate, container_memory_working_set_bytes), summed over the containers of
// the attempt's pods. A cluster whose Prometheus does not scrape them answers "unavailable", never an estimate.
import { log } from "../observability/log";
import { queryInstant } from "../observability/prometheus";
import type { ResourceUsage } from "./backend";

/** A PromQL label value: backslashes and quotes escaped (namespaces and Job names never hold them, but be exact). */
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

/** Selects the containers of the pods a Job named `job` created (their names are "<job>-<suffix>"). */
export function podSelector(at: { namespace: string; job: string }): string {
  const escaped = at.job.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&");
  return `namespace="${label(at.namespace)}",pod=~"${escaped}-.+",container!="",container!="POD"`;
}

/** The pods' CPU cores now (irate: the last two samples within `rangeSeconds`) and working-set bytes, from the Prometheus at `url`. */
export async function prometheusPodUsage(url: string, at: { namespace: string; job: string }, rangeSeconds = 120): Promise<ResourceUsage> {
  const sel = podSelector(at);
  let cpu: number | null;
  let memory: number | null;
  try {
    [cpu, memory] = await Promise.all([
      queryInstant(url, `sum(irate(container_cpu_usage_seconds_total{${sel}}[${rangeSeconds}s]))`),
      queryInstant(url, `sum(container_memory_working_set_bytes{${sel}})`),
    ]);
  } catch (err) {
    // The cause names Prometheus' address (credentials too, when the URL holds them): the operators' to read, in
    // the log; members see that it did not answer.
    log.warn("reading pod usage from Prometheus failed", { err });
    return { source: "unavailable", reason: "Prometheus (PROMETHEUS_URL) did not answer the usage query; the server's log says why" };
  }
  if (cpu === null || memory === null) {
    return { source: "unavailable", reason: `Prometheus has no ${cpu === null ? "container_cpu_usage_seconds_total" : "container_memory_working_set_bytes"} for the pods of ${at.job} (does it scrape the kubelet's cAdvisor metrics?)` };
  }
  return { source: "prometheus", cpuCores: cpu, memoryBytes: Math.round(memory) };
}
