// The platform's state as Prometheus gauges, read from the database at each scrape (so every instance answers
// the same): jobs by team and status, the job queue (depth, oldest wait), live deployments by environment,
// storage by team and kind, GPUs allocated by team on each node, and each team's GPU use by node, measured or
// allocated (gpu-use.ts). Queue waits of started jobs are a histogram observed by the scheduler when it starts an
// attempt (observeQueueWait).
import os from "node:os";
import { count, eq, inArray, isNull, sql } from "drizzle-orm";
import { Gauge, Histogram } from "prom-client";
import type { Registry } from "prom-client";
import { LIVE_DEPLOYMENT_STATUSES, deployments, jobs, teams } from "@/db/schema";
import type { Db } from "@/db/client";
import { codeArchiveBytes, pinnedVersionBytes, teamStorageBytes } from "../artifacts/usage";
import { artifactStore } from "../tracking/artifacts";
import { gpuRows, gpuUse } from "./gpu-use";

export const JOB_STATUSES = ["queued", "admitted", "running", "succeeded", "failed", "cancelled"] as const;

type Ready = () => Promise<Db>;

/**
 * The gauges' reads, shared for a few seconds: /api/metrics answers anyone (summed over teams when anonymous), and
 * a flood of scrapes must not become a flood of aggregate queries and artifact-store walks. Concurrent scrapes
 * share one read.
 */
const FRESH_MS = 5_000;
const reads = { generation: 0 };

/** Makes the next scrape read afresh (tests that change the state and scrape at once). */
export function forgetGaugeReads(): void {
  reads.generation++;
}

function shared<T>(read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; generation: number; value: Promise<T> } | null = null;
  return () => {
    if (!last || Date.now() - last.at > FRESH_MS || last.generation !== reads.generation) {
      const value = read();
      last = { at: Date.now(), generation: reads.generation, value };
      value.catch(() => {
        last = null;
      });
    }
    return last.value;
  };
}

export type PlatformGauges = { queueWait: Histogram<"team"> };

export function registerPlatformGauges(registry: Registry, ready: Ready): PlatformGauges {
  const liveTeams = shared(async () => (await ready()).select({ id: teams.id, slug: teams.slug }).from(teams).where(isNull(teams.archivedAt)).orderBy(teams.slug));
  const jobsByStatus = shared(async () => (await ready()).select({ team: teams.slug, status: jobs.status, n: count() }).from(jobs).innerJoin(teams, eq(teams.id, jobs.teamId)).groupBy(teams.slug, jobs.status));
  const queue = shared(async () => (await ready())
    .select({ team: teams.slug, n: count(), seconds: sql<number>`extract(epoch from (now() - min(${jobs.queuedAt})))::float8` })
    .from(jobs).innerJoin(teams, eq(teams.id, jobs.teamId)).where(inArray(jobs.status, ["queued", "admitted"])).groupBy(teams.slug));
  const liveDeployments = shared(async () => (await ready())
    .select({ team: teams.slug, environment: deployments.environment, n: count() })
    .from(deployments).innerJoin(teams, eq(teams.id, deployments.teamId))
    .where(inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])).groupBy(teams.slug, deployments.environment));
  const storage = shared(async () => storageByTeam(await ready(), await liveTeams()));
  const gpus = shared(async () => gpuRows(await ready()));
  const gpuShares = shared(async () => gpuUse(await ready()));

  new Gauge({
    name: "platform_training_jobs_total",
    help: "Training jobs by team and status, as the database holds them now (a job moves from queued to running to an end state)",
    labelNames: ["team", "status"] as const,
    registers: [registry],
    async collect() {
      const rows = await jobsByStatus();
      this.reset();
      // Every status of every live team, zeros included, so rates and alerts see a series from the start.
      for (const t of await liveTeams()) for (const s of JOB_STATUSES) this.set({ team: t.slug, status: s }, 0);
      for (const r of rows) this.set({ team: r.team, status: r.status }, Number(r.n));
    },
  });

  // Queue depth and the oldest wait, per live team (0 where nothing waits), from one read.
  const queueGauge = (name: string, help: string, value: (r: Awaited<ReturnType<typeof queue>>[number]) => number) =>
    new Gauge({
      name, help, labelNames: ["team"] as const, registers: [registry],
      async collect() {
        const rows = await queue();
        this.reset();
        for (const t of await liveTeams()) this.set({ team: t.slug }, 0);
        for (const r of rows) this.set({ team: r.team }, value(r));
      },
    });
  queueGauge("platform_job_queue_depth", "Jobs waiting to start (queued or admitted) by team", (r) => Number(r.n));
  queueGauge("platform_job_queue_oldest_wait_seconds", "How long the longest-waiting job of each team has been queued (0 with none waiting)", (r) => Math.max(0, Number(r.seconds)));

  new Gauge({
    name: "platform_active_deployments",
    help: "Live deployments (deploying, ready or scaled to zero) by team and environment",
    labelNames: ["team", "environment"] as const,
    registers: [registry],
    async collect() {
      const rows = await liveDeployments();
      this.reset();
      for (const t of await liveTeams()) for (const e of ["staging", "production"]) this.set({ team: t.slug, environment: e }, 0);
      for (const r of rows) this.set({ team: r.team, environment: r.environment }, Number(r.n));
    },
  });

  new Gauge({
    name: "platform_storage_usage_bytes",
    help: "Storage by team and kind: run and model artifacts, uploaded code archives, registered versions' pinned copies",
    labelNames: ["team", "type"] as const,
    registers: [registry],
    async collect() {
      const rows = await storage();
      this.reset();
      for (const r of rows) {
        this.set({ team: r.team, type: "artifacts" }, r.artifacts);
        this.set({ team: r.team, type: "code_archives" }, r.code);
        this.set({ team: r.team, type: "pinned_versions" }, r.pinned);
      }
    },
  });

  new Gauge({
    name: "platform_gpu_allocated",
    help: "GPUs held by each team's running jobs, by node (local backend: this host)",
    labelNames: ["team", "node"] as const,
    registers: [registry],
    async collect() {
      const rows = await gpus();
      this.reset();
      for (const r of rows) this.set({ team: r.team, node: os.hostname() }, r.gpus);
    },
  });

  new Gauge({
    name: "platform_gpu_utilization",
    help: "Share of the node's GPUs each team uses (0-1): measured where the cluster exposes it (the DCGM exporter's utilization of the GPUs the team's pods hold, over the node's GPUs), else the share its running jobs hold; platform_gpu_utilization_info says which. Absent on a node without GPUs",
    labelNames: ["team", "node"] as const,
    registers: [registry],
    async collect() {
      const rows = await gpuShares();
      this.reset();
      for (const r of rows) this.set({ team: r.team, node: r.node }, r.utilization);
    },
  });

  new Gauge({
    name: "platform_gpu_utilization_info",
    help: "Where each platform_gpu_utilization series comes from: source=\"measured\" (NVIDIA DCGM exporter, via PROMETHEUS_URL) or source=\"allocated\" (GPUs held ÷ the node's GPUs); always 1",
    labelNames: ["team", "node", "source"] as const,
    registers: [registry],
    async collect() {
      const rows = await gpuShares();
      this.reset();
      for (const r of rows) this.set({ team: r.team, node: r.node, source: r.source }, 1);
    },
  });

  const queueWait = new Histogram({
    name: "platform_job_queue_wait_seconds",
    help: "How long jobs waited from submit to the start of their first attempt, by team (observed by the leading scheduler)",
    labelNames: ["team"] as const,
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
    registers: [registry],
  });
  return { queueWait };
}

export type TeamStorage = { team: string; artifacts: number; code: number; pinned: number };

/** Bytes each live team stores: run and model artifacts, uploaded code archives, registered versions' pinned copies. */
export async function storageByTeam(db: Db, live?: { id: string; slug: string }[]): Promise<TeamStorage[]> {
  const list = live ?? (await db.select({ id: teams.id, slug: teams.slug }).from(teams).where(isNull(teams.archivedAt)).orderBy(teams.slug));
  return Promise.all(list.map(async (t) => {
    const [artifacts, code, pinned] = await Promise.all([teamStorageBytes(artifactStore(), t.slug), codeArchiveBytes(db, t.id), pinnedVersionBytes(db, t.id)]);
    return { team: t.slug, artifacts, code, pinned };
  }));
}
