// The serving resource sampler, a worker loop (./runtime.ts), leader only: every CAIRN_SERVING_SAMPLE_INTERVAL_MS,
// CPU and memory of each live deployment's replicas together (local: the replica processes this leader runs,
// from /proc; Kubernetes: the deployment's pods from metrics.k8s.io or Prometheus) as one row of
// deployment_resource_samples — what the cost meter charges as used; on Kubernetes with PROMETHEUS_URL, with the mean
// utilization of the replicas' GPUs as the NVIDIA DCGM exporter reports it. Where nothing can be read, the deployment
// keeps why (deployments.resource_source) and the meter says so. A deployment keeps at most SAMPLE_CAP rows
// (./resource-samples.ts: older ones merged in pairs).
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import type { ResourceSource } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deploymentResourceSamples, deployments, teams } from "@/db/schema";
import type { ServedDeployment, ServingUsageReader } from "../deployments/replica-usage";
import type { DcgmGpu } from "../observability/gpu-use";
import { log } from "../observability/log";
import type { Loop } from "./runtime";
import type { PodGpuReader } from "./resource-samples";
import { SAMPLE_CAP, gpuUtilizationOf, readGpus, sameSource, sourceOf, thinOwnerSamples } from "./resource-samples";

export class ServingResourceSampler implements Loop {
  readonly name = "serving-resources" as const;
  private readonly db: Db;
  private readonly reader: ServingUsageReader;
  private readonly gpu: PodGpuReader<ServedDeployment> | undefined;
  readonly intervalMs: number;

  constructor(opts: { db: Db; reader: ServingUsageReader; intervalMs: number; gpu?: PodGpuReader<ServedDeployment> }) {
    this.db = opts.db;
    this.reader = opts.reader;
    this.gpu = opts.gpu;
    this.intervalMs = opts.intervalMs;
  }

  async tick(): Promise<void> {
    const live = await this.db
      .select({ id: deployments.id, team: teams.slug, source: deployments.resourceSource })
      .from(deployments)
      .innerJoin(teams, eq(teams.id, deployments.teamId))
      .where(and(inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]), eq(deployments.backend, this.reader.backend)));
    const gpus = live.length > 0 ? await readGpus(this.gpu) : null;
    for (const d of live) {
      try {
        await this.sample(d, gpus);
      } catch (err) {
        // One deployment's unreadable sample (an API hiccup) does not stop the others'.
        log.warn(`deployment ${d.id}: reading its replicas' resource usage failed`, { err: err instanceof Error ? err.message : err });
      }
    }
  }

  private async sample(d: { id: string; team: string; source: ResourceSource | null }, gpus: DcgmGpu[] | null): Promise<void> {
    const usage = await this.reader.usage(d);
    if (!usage) return;
    const source = sourceOf(usage);
    if (!sameSource(d.source, source)) await this.db.update(deployments).set({ resourceSource: source }).where(eq(deployments.id, d.id));
    if (usage.source === "unavailable") return;
    await this.db.insert(deploymentResourceSamples).values({
      deploymentId: d.id, at: new Date(), replicas: usage.replicas, cpuCores: Math.round(usage.cpuCores * 1000) / 1000, memoryBytes: Math.round(usage.memoryBytes),
      gpuUtilization: gpuUtilizationOf(gpus, this.gpu, d),
    });
    const [{ n }] = (await this.db.select({ n: sql<number>`count(*)::int` }).from(deploymentResourceSamples).where(eq(deploymentResourceSamples.deploymentId, d.id))) as [{ n: number }];
    if (n > SAMPLE_CAP) await thinOwnerSamples(this.db, "deployment", d.id);
  }
}
