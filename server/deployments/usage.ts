// A deployment's replicas' CPU and memory over time (the samples the serving-resources worker stores), for its page
// and GET /api/v1/deployments/{id}/resources: readable by the deployment's team like the deployment itself.
import { asc, eq } from "drizzle-orm";
import { deploymentResourceSamples } from "@/db/schema";
import type { DeploymentResources } from "@/lib/schemas/deployments";
import type { Ctx } from "../context";
import { replicaPrice } from "../costs/prices";
import { CHART_POINTS, downsample } from "../jobs/usage";
import { loadDeployment } from "./service";

const GIB = 1024 ** 3;

export async function getDeploymentResources(ctx: Ctx, id: string): Promise<DeploymentResources> {
  const d = await loadDeployment(ctx, id, { mode: "read" });
  const [rows, price] = await Promise.all([
    ctx.db
      .select({ at: deploymentResourceSamples.at, cpuCores: deploymentResourceSamples.cpuCores, memoryBytes: deploymentResourceSamples.memoryBytes, replicas: deploymentResourceSamples.replicas })
      .from(deploymentResourceSamples)
      .where(eq(deploymentResourceSamples.deploymentId, d.id))
      .orderBy(asc(deploymentResourceSamples.at), asc(deploymentResourceSamples.id)),
    replicaPrice(ctx.db),
  ]);
  // downsample() merges equal consecutive groups of this size; a merged point shows the most replicas of its group.
  const size = Math.max(1, Math.ceil(rows.length / CHART_POINTS));
  const samples = downsample(rows).map((p, i) => {
    const counts = rows.slice(i * size, (i + 1) * size).map((r) => r.replicas).filter((n): n is number => n !== null);
    return { at: p.at.toISOString(), cpu_cores: Math.round(p.cpuCores * 1000) / 1000, memory_bytes: Math.round(p.memoryBytes), replicas: counts.length > 0 ? Math.max(...counts) : null };
  });
  return {
    samples,
    // What the meter charges as requested: replicas × the replica instance type.
    limits: { cpu: price.resources.cpu * d.replicas, memory_bytes: Math.round(price.resources.memoryGib * d.replicas * GIB) },
    source: d.resourceSource?.source ?? (d.backend === "kubernetes" ? "pod-metrics" : "process"),
    message: d.resourceSource?.reason ?? null,
    total_samples: rows.length,
  };
}
