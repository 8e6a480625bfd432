"use client";

import { useQuery } from "@tanstack/react-query";
import { MetricChart } from "@/components/charts/metric-chart";
import type { Series } from "@/components/charts/use-metric-history";
import type { JobResources } from "@/lib/schemas/jobs";

const GIB = 1024 ** 3;

/** What the charts are of: a job (its processes or pods), or a deployment (its replicas together). */
type Subject = { kind: "job" | "deployment"; id: string };

async function load(of: Subject): Promise<JobResources> {
  const res = await fetch(`/api/v1/${of.kind}s/${of.id}/resources`);
  const body = (await res.json()) as JobResources | { error: { message: string } };
  if (!res.ok) throw new Error("error" in body ? body.error.message : `HTTP ${res.status}`);
  return body as JobResources;
}

/** A used-vs-asked pair for MetricChart: the samples, and what the job asked for as a flat line over the same span. */
function series(data: JobResources, used: string, value: (s: JobResources["samples"][number]) => number, asked: number): Series[] {
  const points = data.samples.map((s, i) => ({ step: i, timestamp: new Date(s.at).getTime(), value: value(s) }));
  const span = [points[0]!, points.at(-1)!];
  return [
    { runId: "used", runName: used, key: used, points, sampled: data.total_samples > data.samples.length, total: data.total_samples },
    { runId: "asked", runName: "requested", key: "requested", points: span.map((p) => ({ ...p, value: asked })), sampled: false, total: 0 },
  ];
}

const SOURCE: Record<JobResources["source"], string> = {
  process: "processes (/proc) every few seconds",
  "pod-metrics": "read from the cluster's pod metrics (metrics.k8s.io) every few seconds",
  prometheus: "read from Prometheus (the kubelet's container_cpu_usage_seconds_total and memory working set) every few seconds",
  unavailable: "not available",
};

const WAITING: Record<Subject["kind"], string> = {
  job: "No samples yet: the first arrives a few seconds after the job starts.",
  deployment: "No samples yet: the first arrives within a sampling interval (15 s by default) of a replica serving.",
};

/** CPU and memory of a job (or a deployment's replicas) over time against what it asked for; refreshed while it runs. */
export function ResourceCharts({ of, active, initial }: { of: Subject; active: boolean; initial: JobResources }) {
  const { data = initial, error } = useQuery({ queryKey: [`${of.kind}-resources`, of.id], queryFn: () => load(of), initialData: initial, refetchInterval: active ? (of.kind === "job" ? 5_000 : 15_000) : false, retry: false });
  const peak = data.samples.reduce((m, s) => Math.max(m, s.memory_bytes), 0);
  return (
    <div className="space-y-2">
      <p className="text-sm text-stone-600">
        {data.source === "unavailable" ? (data.message ?? `Resource usage is not available for this ${of.kind}.`) : `CPU and memory${of.kind === "deployment" ? " of the replicas together" : ""} ${data.source === "process" ? `read from the ${of.kind === "job" ? "job's" : "replica"} ${SOURCE.process}` : SOURCE[data.source]}.`}
        {data.samples.length > 0 && ` Peak memory ${(peak / GIB).toFixed(2)} GiB of ${(data.limits.memory_bytes / GIB).toFixed(2)} GiB requested.`}
      </p>
      {error && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">{error.message}</p>}
      {data.samples.length === 0
        ? data.source !== "unavailable" && <p className="rounded-md border border-dashed border-stone-300 px-3 py-6 text-center text-sm text-stone-500">{active ? WAITING[of.kind] : `No resource samples were recorded for this ${of.kind}.`}</p>
        : (
          <div className="grid gap-3 lg:grid-cols-2">
            <MetricChart title="CPU (cores)" series={series(data, "CPU used", (s) => s.cpu_cores, data.limits.cpu)} xMode="relative" smoothing={0} height={200} labelBy="key" />
            <MetricChart title="Memory (GiB)" series={series(data, "memory used", (s) => Math.round((s.memory_bytes / GIB) * 1000) / 1000, Math.round((data.limits.memory_bytes / GIB) * 1000) / 1000)} xMode="relative" smoothing={0} height={200} labelBy="key" />
          </div>
        )}
    </div>
  );
}
