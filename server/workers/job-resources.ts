// The job resource sampler, a worker loop (./runtime.ts): every few seconds, CPU and memory of each running
// job of this executor (local: its process tree from /proc; Kubernetes: its pods from metrics.k8s.io) as one
// row of job_resource_samples — on Kubernetes with PROMETHEUS_URL, with the mean utilization of the pods' GPUs as
// the NVIDIA DCGM exporter reports it. A job keeps at most SAMPLE_CAP rows: past that its samples are merged in pairs
// (./resource-samples.ts), so a long job keeps its whole history at a coarser step and never loses a peak.
import { and, eq, isNotNull, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { jobResourceSamples, jobs } from "@/db/schema";
import type { ResourceSource } from "@/db/schema";
import type { ComputeBackend } from "../compute/backend";
import type { Loop } from "./runtime";
import { log } from "../observability/log";
import type { DcgmGpu } from "../observability/gpu-use";
import type { PodGpuReader } from "./resource-samples";
import { SAMPLE_CAP, gpuUtilizationOf, readGpus, sameSource, sourceOf, thinOwnerSamples } from "./resource-samples";

/** How often: every 5 s locally; every 15 s on Kubernetes, metrics-server's own resolution (and one API call a job). */
export const SAMPLE_INTERVAL_MS = { local: 5_000, kubernetes: 15_000 } as const;
export { SAMPLE_CAP };

/** Halves a job's samples: each odd one (in time) takes the mean CPU and the peak memory of itself and the next. */
export function thinSamples(db: Db, jobId: string): Promise<void> {
  return thinOwnerSamples(db, "job", jobId);
}

export class JobResourceSampler implements Loop {
  readonly name = "job-resources" as const;
  readonly intervalMs: number;
  private readonly db: Db;
  private readonly backend: ComputeBackend;
  private readonly gpu: PodGpuReader | undefined;

  constructor(opts: { db: Db; backend: ComputeBackend; intervalMs?: number; gpu?: PodGpuReader }) {
    this.db = opts.db;
    this.backend = opts.backend;
    this.gpu = opts.gpu;
    this.intervalMs = opts.intervalMs ?? SAMPLE_INTERVAL_MS[opts.backend.name];
  }

  async tick(): Promise<void> {
    if (!this.backend.usage) return;
    const running = await this.db
      .select({ id: jobs.id, ref: jobs.backendRef, source: jobs.resourceSource, gpus: jobs.gpus })
      .from(jobs)
      .where(and(eq(jobs.status, "running"), eq(jobs.backend, this.backend.name), isNotNull(jobs.backendRef)));
    // Prometheus is asked once a tick, and only while some running job holds GPUs.
    const gpus = running.some((j) => j.gpus > 0) ? await readGpus(this.gpu) : null;
    for (const job of running) {
      try {
        await this.sample(job.id, job.ref!, job.source, gpus);
      } catch (err) {
        // One job's unreadable sample (an API hiccup) does not stop the others'.
        log.warn(`job ${job.id}: reading its resource usage failed`, { err: err instanceof Error ? err.message : err });
      }
    }
  }

  private async sample(jobId: string, ref: string, known: ResourceSource | null, gpus: DcgmGpu[] | null): Promise<void> {
    const usage = await this.backend.usage!(ref);
    if (!usage) return;
    const source = sourceOf(usage);
    if (!sameSource(known, source)) {
      await this.db.update(jobs).set({ resourceSource: source }).where(and(eq(jobs.id, jobId), eq(jobs.backendRef, ref)));
    }
    if (usage.source === "unavailable") return;
    await this.db.insert(jobResourceSamples).values({
      jobId, at: new Date(), cpuCores: Math.round(usage.cpuCores * 1000) / 1000, memoryBytes: Math.round(usage.memoryBytes), gpuUtilization: gpuUtilizationOf(gpus, this.gpu, ref),
    });
    const [{ n }] = (await this.db.select({ n: sql<number>`count(*)::int` }).from(jobResourceSamples).where(eq(jobResourceSamples.jobId, jobId))) as [{ n: number }];
    if (n > SAMPLE_CAP) await thinSamples(this.db, jobId);
  }
}
