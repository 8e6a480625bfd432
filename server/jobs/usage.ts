// A job's CPU and memory over time (the samples the job-resources worker stores), for its page and
// GET /api/v1/jobs/{id}/resources: readable by the job's team like the job itself.
import { asc, eq } from "drizzle-orm";
import { jobResourceSamples } from "@/db/schema";
import type { JobResources } from "@/lib/schemas/jobs";
import type { Ctx } from "../context";
import { loadJob } from "./service";

/** Points a chart gets at most (STYLE.md: the server downsamples). */
export const CHART_POINTS = 1_000;

type Sample = { at: Date; cpuCores: number; memoryBytes: number };

/** At most `max` points: consecutive samples merged in equal groups (first time, mean CPU, peak memory). */
export function downsample(rows: Sample[], max = CHART_POINTS): Sample[] {
  if (rows.length <= max) return rows;
  const size = Math.ceil(rows.length / max);
  const out: Sample[] = [];
  for (let i = 0; i < rows.length; i += size) {
    const group = rows.slice(i, i + size);
    out.push({
      at: group[0]!.at,
      cpuCores: group.reduce((n, r) => n + r.cpuCores, 0) / group.length,
      memoryBytes: Math.max(...group.map((r) => r.memoryBytes)),
    });
  }
  return out;
}

export async function getJobResources(ctx: Ctx, id: string): Promise<JobResources> {
  const job = await loadJob(ctx, id, { mode: "read" });
  const rows = await ctx.db
    .select({ at: jobResourceSamples.at, cpuCores: jobResourceSamples.cpuCores, memoryBytes: jobResourceSamples.memoryBytes })
    .from(jobResourceSamples)
    .where(eq(jobResourceSamples.jobId, job.id))
    .orderBy(asc(jobResourceSamples.at), asc(jobResourceSamples.id));
  const known = job.resourceSource;
  return {
    samples: downsample(rows).map((r) => ({ at: r.at.toISOString(), cpu_cores: Math.round(r.cpuCores * 1000) / 1000, memory_bytes: Math.round(r.memoryBytes) })),
    limits: { cpu: job.cpu, memory_bytes: Math.round(job.memoryGib * 1024 ** 3) },
    source: known?.source ?? (job.backend === "kubernetes" ? "pod-metrics" : "process"),
    message: known?.reason ?? null,
    total_samples: rows.length,
  };
}
