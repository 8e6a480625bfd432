// GPU use by team and node, for platform_gpu_utilization and the Platform page. Measured where the cluster exposes it:
// on the Kubernetes backend with PROMETHEUS_URL, the NVIDIA DCGM exporter's per-GPU utilization (DCGM_FI_DEV_GPU_UTIL,
// which the exporter attributes to the pod holding the GPU) as that Prometheus scraped it. Everywhere else — the local
// backend, a node the exporter does not cover, a Prometheus that does not answer — the share of the node's GPUs the
// team's running jobs hold (allocated). Each row says which.
import os from "node:os";
import { existsSync, readdirSync } from "node:fs";
import { and, eq, isNull, sql } from "drizzle-orm";
import { jobs, teams } from "@/db/schema";
import type { Db } from "@/db/client";
import { readClusterGpus } from "../compute/k8s-gpu-allocation";
import { namespaceFor } from "../compute/k8s-manifest";
import { env } from "../env";
import { log } from "./log";
import { queryVector } from "./prometheus";

/** The DCGM exporter's GPU utilization, 0–100 % per GPU. */
export const DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL";
/** How long a scrape of /api/metrics waits for Prometheus, or the Kubernetes API, before leaving that source out. */
const QUERY_TIMEOUT_MS = 3_000;

export type GpuUseSource = "measured" | "allocated";
/** One team on one node: the share (0–1) of the node's GPUs it uses, and how that was found. */
export type GpuUse = { team: string; node: string; utilization: number; source: GpuUseSource };
export type DcgmSeries = { labels: Record<string, string>; value: number | null };

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;

/** GPUs on this host (NVIDIA's driver lists one folder per GPU); 0 where there are none. */
export function localGpuCount(): number {
  const dir = "/proc/driver/nvidia/gpus";
  try {
    return existsSync(dir) ? readdirSync(dir).length : 0;
  } catch {
    return 0;
  }
}

/** GPUs held by each live team's running jobs (0 for a team with none). */
export async function gpuRows(db: Db): Promise<{ team: string; gpus: number }[]> {
  const rows = await db
    .select({ team: teams.slug, gpus: sql<number>`coalesce(sum(${jobs.gpus}), 0)::float8` })
    .from(teams)
    .leftJoin(jobs, and(eq(jobs.teamId, teams.id), eq(jobs.status, "running")))
    .where(isNull(teams.archivedAt))
    .groupBy(teams.slug)
    .orderBy(teams.slug);
  return rows.map((r) => ({ team: r.team, gpus: Number(r.gpus) }));
}

/**
 * The node a DCGM series is about: `node` (or `kubernetes_node`) where the scrape config relabels the exporter pod's
 * node name into it, else the exporter's own `Hostname`.
 */
export function dcgmNode(labels: Record<string, string>): string | null {
  return labels.node || labels.kubernetes_node || labels.Hostname || null;
}

/**
 * The pod the exporter attributed the GPU to. With honor_labels off and a scrape target carrying namespace/pod labels
 * (a ServiceMonitor's), Prometheus renames the exporter's labels to exported_namespace/exported_pod and `namespace`
 * is the exporter's own: the exported_* pair wins wherever it is present.
 */
export function dcgmPod(labels: Record<string, string>): { namespace: string; pod: string } | null {
  const renamed = labels.exported_namespace !== undefined || labels.exported_pod !== undefined;
  const namespace = renamed ? labels.exported_namespace : labels.namespace;
  const pod = renamed ? labels.exported_pod : labels.pod;
  return namespace && pod ? { namespace, pod } : null;
}

/** One GPU as the DCGM exporter's series show it: its node (null when no label names it), its utilization (0–100; null
 * when not a number) and the pods the exporter attributes it to (several where it is time-sliced). */
export type DcgmGpu = { node: string | null; utilization: number | null; pods: { namespace: string; pod: string }[] };

/** The exporter's series as GPUs (one per node and UUID / gpu index), each with the pods holding it. */
export function dcgmGpus(series: DcgmSeries[]): DcgmGpu[] {
  const gpus = new Map<string, { node: string | null; utilization: number | null; pods: Map<string, { namespace: string; pod: string }> }>();
  for (const s of series) {
    const node = dcgmNode(s.labels);
    const key = `${node ?? ""}\u0000${s.labels.UUID || s.labels.gpu || s.labels.device || ""}`;
    const gpu = gpus.get(key) ?? { node, utilization: null, pods: new Map() };
    gpus.set(key, gpu);
    if (s.value !== null && Number.isFinite(s.value)) gpu.utilization = Math.min(100, Math.max(0, s.value));
    const pod = dcgmPod(s.labels);
    if (pod) gpu.pods.set(`${pod.namespace}/${pod.pod}`, pod);
  }
  return [...gpus.values()].map((g) => ({ node: g.node, utilization: g.utilization, pods: [...g.pods.values()] }));
}

/** The DCGM exporter's GPUs as the Prometheus at `url` holds them now. */
export async function readDcgmGpus(url: string, timeoutMs = QUERY_TIMEOUT_MS): Promise<DcgmGpu[]> {
  return dcgmGpus(await queryVector(url, DCGM_GPU_UTIL, undefined, timeoutMs));
}

/**
 * Per node the exporter covers: the share of its GPUs each team kept busy, Σ over the GPUs its pods hold of
 * utilization ÷ 100, over the node's GPUs (every GPU the exporter reports, held or idle). A GPU shared by several
 * pods (time-slicing) is split evenly between them. A pod whose namespace maps to no team (`teamOf` → null) is
 * counted in the GPU's split and in no team's share.
 */
export function measuredShares(series: DcgmSeries[], teamOf: (namespace: string) => string | null): MeasuredShares {
  return sharesOf(dcgmGpus(series), teamOf);
}

type MeasuredShares = { nodes: Set<string>; rows: { team: string; node: string; utilization: number }[] };

function sharesOf(gpus: DcgmGpu[], teamOf: (namespace: string) => string | null): MeasuredShares {
  const perNode = new Map<string, number>();
  const busy = new Map<string, { team: string; node: string; sum: number }>();
  for (const gpu of gpus) {
    if (!gpu.node) continue;
    perNode.set(gpu.node, (perNode.get(gpu.node) ?? 0) + 1);
    if (gpu.utilization === null || gpu.pods.length === 0) continue;
    for (const pod of gpu.pods) {
      const team = teamOf(pod.namespace);
      if (!team) continue;
      const key = `${team} ${gpu.node}`;
      const row = busy.get(key) ?? { team, node: gpu.node, sum: 0 };
      row.sum += gpu.utilization / 100 / gpu.pods.length;
      busy.set(key, row);
    }
  }
  const rows = [...busy.values()].map((r) => ({ team: r.team, node: r.node, utilization: round4(Math.min(1, r.sum / perNode.get(r.node)!)) }));
  rows.sort((a, b) => a.team.localeCompare(b.team) || a.node.localeCompare(b.node));
  return { nodes: new Set(perNode.keys()), rows };
}

/**
 * The mean utilization (0–1) of the GPUs the exporter attributes to the pods `owner` created in `namespace` (named
 * "<owner>-<suffix>": a Job's attempt, a serving Deployment's replicas); a GPU time-sliced with other pods counts
 * for its even split, as in measuredShares. Null when the exporter attributes no GPU to them — their GPUs are then
 * counted as requested.
 */
export function podGpuUtilization(gpus: DcgmGpu[], at: { namespace: string; owner: string }): number | null {
  let sum = 0;
  let n = 0;
  for (const gpu of gpus) {
    if (gpu.utilization === null) continue;
    const mine = gpu.pods.filter((p) => p.namespace === at.namespace && p.pod.startsWith(`${at.owner}-`)).length;
    if (mine === 0) continue;
    sum += (gpu.utilization / 100) * (mine / gpu.pods.length);
    n += 1;
  }
  return n === 0 ? null : round4(Math.min(1, sum / n));
}

/** The live teams' namespaces, where the Kubernetes backend runs their pods (namespaceFor), to their teams. */
export function teamNamespaces(slugs: string[]): (namespace: string) => string | null {
  const map = new Map(slugs.flatMap((slug) => {
    try {
      return [[namespaceFor(slug), slug] as const];
    } catch {
      return []; // a slug that makes no namespace has no pods
    }
  }));
  return (namespace) => map.get(namespace) ?? null;
}

/** The DCGM exporter's GPU utilization as the Prometheus at `url` holds it now, per team and node. */
export async function measuredGpuUse(url: string, teamOf: (namespace: string) => string | null, timeoutMs = QUERY_TIMEOUT_MS): Promise<MeasuredShares> {
  return sharesOf(await readDcgmGpus(url, timeoutMs), teamOf);
}

/** Where Cairn reads allocated GPUs on a cluster: the pods' requests and the nodes' allocatable GPUs. */
export type ClusterGpuReader = () => Promise<{ pods: { namespace: string; node: string; gpus: number }[]; capacity: Map<string, number> }>;

/** Allocated shares on a cluster: GPUs the team namespaces' running pods request on each node ÷ the node's allocatable GPUs. */
export function allocatedShares(read: Awaited<ReturnType<ClusterGpuReader>>, teamOf: (namespace: string) => string | null): { team: string; node: string; utilization: number }[] {
  const held = new Map<string, { team: string; node: string; gpus: number }>();
  for (const p of read.pods) {
    const team = teamOf(p.namespace);
    if (!team || p.gpus <= 0) continue;
    const key = `${team} ${p.node}`;
    const row = held.get(key) ?? { team, node: p.node, gpus: 0 };
    row.gpus += p.gpus;
    held.set(key, row);
  }
  return [...held.values()].flatMap((r) => {
    const capacity = read.capacity.get(r.node) ?? 0;
    return capacity > 0 ? [{ team: r.team, node: r.node, utilization: round4(Math.min(1, r.gpus / capacity)) }] : [];
  }).sort((a, b) => a.team.localeCompare(b.team) || a.node.localeCompare(b.node));
}

/** A source that stays unreadable is logged once a minute, not at every scrape. */
const WARN_EVERY_MS = 60_000;
const warned = new Map<string, number>();
function warnSometimes(what: string, err: unknown): void {
  const last = warned.get(what) ?? 0;
  if (Date.now() - last < WARN_EVERY_MS) return;
  warned.set(what, Date.now());
  log.warn(what, { err: err instanceof Error ? err.message : String(err) });
}

/** `promise`, or a rejection after `ms` (an unreachable API server must not hold a scrape of /api/metrics). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export type GpuUseOptions = {
  /** The cluster's pods and nodes (kubernetes backend); the Kubernetes API by default. */
  cluster?: ClusterGpuReader;
};

/**
 * Every team's GPU use by node now. Local backend: the share of this host's GPUs each live team's running jobs hold
 * (none on a host without GPUs). Kubernetes: measured on the nodes the DCGM exporter covers in PROMETHEUS_URL's
 * Prometheus, allocated (from the Kubernetes API) on the others; a source that cannot be read is logged and left out.
 */
export async function gpuUse(db: Db, opts: GpuUseOptions = {}): Promise<GpuUse[]> {
  const e = env();
  if (e.computeBackend === "local") {
    const capacity = localGpuCount();
    if (capacity === 0) return [];
    return (await gpuRows(db)).map((r) => ({ team: r.team, node: os.hostname(), utilization: round4(Math.min(1, r.gpus / capacity)), source: "allocated" }));
  }
  const live = await db.select({ slug: teams.slug }).from(teams).where(isNull(teams.archivedAt));
  const teamOf = teamNamespaces(live.map((t) => t.slug));
  const cluster = opts.cluster ?? readClusterGpus;
  const [measured, allocated] = await Promise.all([
    e.prometheus.url
      ? measuredGpuUse(e.prometheus.url, teamOf).catch((err: unknown) => {
        warnSometimes("GPU utilization: the DCGM exporter's series could not be read from Prometheus; showing allocated shares", err);
        return null;
      })
      : null,
    withTimeout(cluster(), QUERY_TIMEOUT_MS, "the Kubernetes API").then((read) => allocatedShares(read, teamOf), (err: unknown) => {
      warnSometimes("GPU utilization: the cluster's pods and nodes could not be read; no allocated shares", err);
      return [];
    }),
  ]);
  const covered = measured?.nodes ?? new Set<string>();
  return [
    ...(measured?.rows ?? []).map((r) => ({ ...r, source: "measured" as const })),
    ...allocated.filter((r) => !covered.has(r.node)).map((r) => ({ ...r, source: "allocated" as const })),
  ].sort((a, b) => a.team.localeCompare(b.team) || a.node.localeCompare(b.node));
}
