// The platform's worker runtime as `npm start` runs it: every loop, configured from the environment, with
// leadership through PostgreSQL (DATABASE_URL) or, on PGlite, this single process.
import { sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { createBackend } from "../compute";
import { deploymentRuntime } from "../deployments/runtime";
import type { ServedDeployment, ServingUsageReader } from "../deployments/replica-usage";
import { KubernetesReplicaUsage, LocalReplicaUsage, servingPods } from "../deployments/replica-usage";
import { readDcgmGpus } from "../observability/gpu-use";
import type { PodGpuReader } from "./resource-samples";
import type { KubernetesServing } from "../compute/k8s-serving";
import { authSecret, env } from "../env";
import { AlertLoop } from "./alerts";
import { ApprovalExpiryLoop } from "./approval-expiry";
import { AuditAnchorLoop } from "./audit-anchor";
import { Autoscaler } from "./autoscaler";
import { BudgetLoop } from "./budgets";
import { CostMeterLoop } from "./cost-meter";
import { DeploymentReconciler } from "./deployment-reconciler";
import { DriftLoop } from "./drift";
import { InferenceRollupPruneLoop } from "./inference-rollups";
import { JobResourceSampler } from "./job-resources";
import { ServingResourceSampler } from "./serving-resources";
import { PlatformRollupLoop } from "./platform-rollups";
import { JobScheduler } from "./job-scheduler";
import { ProductionPromotion } from "./production-promotion";
import { SweepDriver } from "./sweep-driver";
import type { Election, Loop } from "./runtime";
import { SplitGuardLoop } from "./split-guard";
import { WAKE_CHANNEL, WorkerRuntime } from "./runtime";

/**
 * The Kubernetes side: serving (for the deployment reconciler), its pods' usage (for the serving resource sampler)
 * and the tenant sync loop, from one kubeconfig.
 */
async function kubernetesLoops(db: Db): Promise<{ serving: KubernetesServing; servingUsage: ServingUsageReader; tenantSync: Loop; jobGpus?: PodGpuReader; servingGpus?: PodGpuReader<ServedDeployment> }> {
  const e = env();
  const [{ defaultKubeConfig, parseRef }, { KubernetesServing }, { TenantSyncer }, { TenantSyncLoop }, { ApisApi, CustomObjectsApi }, { PodUsageReader }] = await Promise.all([
    import("../compute/kubernetes"), import("../compute/k8s-serving"), import("../tenants/sync"), import("./tenant-sync"), import("@kubernetes/client-node"), import("../compute/k8s-pod-usage"),
  ]);
  const kubeConfig = defaultKubeConfig();
  const serving = new KubernetesServing({
    kubeConfig, image: e.kubernetes.modelServerImage, fetchImage: e.kubernetes.fetchImage, cairnUrl: e.trackingUrl,
    cpu: e.kubernetes.modelCpu, memoryGib: e.kubernetes.modelMemoryGib, signingKey: authSecret(),
  });
  // Every team's namespace, ResourceQuota, LimitRange and RBAC are kept in place.
  const tenantSync = new TenantSyncLoop(db, new TenantSyncer(kubeConfig, { serviceAccount: e.kubernetes.serviceAccount }), e.tenantSyncIntervalMs);
  const servingUsage = new KubernetesReplicaUsage(new PodUsageReader(kubeConfig.makeApiClient(ApisApi), kubeConfig.makeApiClient(CustomObjectsApi)));
  // With PROMETHEUS_URL, the GPU utilization of jobs' and deployments' pods from the NVIDIA DCGM exporter's series.
  const url = e.prometheus.url;
  if (!url) return { serving, servingUsage, tenantSync };
  const read = () => readDcgmGpus(url);
  return {
    serving, servingUsage, tenantSync,
    jobGpus: { read, podsOf: (ref) => { const at = parseRef(ref); return at && { namespace: at.namespace, owner: at.name }; } },
    servingGpus: { read, podsOf: servingPods },
  };
}

export async function createPlatformWorkers(db: Db, database: { backend: "pglite" | "postgres"; url?: string }): Promise<WorkerRuntime> {
  const e = env();
  const autoscaler = new Autoscaler({ db, runtime: deploymentRuntime() });
  // On Kubernetes, deployments are served by the cluster: Deployment, Service and HPA per deployment.
  const kubernetes = e.computeBackend === "kubernetes" ? await kubernetesLoops(db) : null;
  const backend = createBackend(e.computeBackend);
  const loops: Loop[] = [
    new JobScheduler({ db, backend, intervalMs: e.schedulerIntervalMs }),
    new JobResourceSampler({ db, backend, gpu: kubernetes?.jobGpus }),
    new DeploymentReconciler(db, deploymentRuntime(), e.deploymentReconcileIntervalMs, kubernetes?.serving ?? null),
    new ProductionPromotion(db, deploymentRuntime(), e.deploymentReconcileIntervalMs),
    // What live deployments' replicas use (the replica processes this leader runs, or the cluster's pods): the meter's "used".
    new ServingResourceSampler({ db, reader: kubernetes?.servingUsage ?? new LocalReplicaUsage((id) => deploymentRuntime().replicas(id)), intervalMs: e.servingSampleIntervalMs, gpu: kubernetes?.servingGpus }),
    // Replica counts follow in-flight requests, for the deployments this (leading) process serves.
    { name: "autoscale", intervalMs: e.autoscale.intervalMs, tick: async () => { await autoscaler.tick(); }, onStepDown: () => autoscaler.stop() },
    new CostMeterLoop(db, e.costMeterIntervalMs),
    // Budget steps follow the meter: recorded (and their webhooks sent) as often as costs are metered.
    new BudgetLoop(db, e.costMeterIntervalMs),
    new AuditAnchorLoop(db, e.auditAnchorIntervalMs),
    new ApprovalExpiryLoop(db, e.approvalExpiryIntervalMs),
    // The gateway's per-minute rollups older than 30 days, hourly.
    new InferenceRollupPruneLoop(db, 3_600_000),
    // The job queue and active users sampled each minute for the Platform page; its rollups kept 30 days.
    new PlatformRollupLoop(db),
    new SplitGuardLoop(db, e.splits.guardIntervalMs, e.splits.logRetentionDays),
    new SweepDriver(db, e.sweeps.intervalMs),
    // Drift of sampled inputs and predictions against each version's training reference, per window.
    new DriftLoop(db, e.drift.intervalMs, { windowMinutes: e.drift.windowMinutes, retentionDays: e.drift.logRetentionDays }),
    // Alert rules evaluated, and their notifications sent.
    new AlertLoop(db, { intervalMs: e.alerts.intervalMs, repeatMs: e.alerts.repeatMs, baseUrl: e.nextAuthUrl ?? e.internalUrl, smtpUrl: e.alerts.smtpUrl, from: e.alerts.from }),
  ];
  if (kubernetes) loops.push(kubernetes.tenantSync);
  const election: Election = database.backend === "postgres" && database.url ? { kind: "postgres", url: database.url, retryMs: e.leaderRetryMs, advertise: e.internalUrl } : { kind: "single" };
  return new WorkerRuntime({
    election,
    loops,
    // A process that does not lead wakes the leader's loop through the database.
    notify: async (loop) => {
      await db.execute(sql`select pg_notify(${WAKE_CHANNEL}, ${loop})`);
    },
  });
}
