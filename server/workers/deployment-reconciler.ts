// The deployment reconciler, a worker loop (./runtime.ts): desired state (deployments whose status is live)
// against what this process serves (../deployments/runtime.ts's replicas). A live deployment with no replicas
// here is brought up (at leadership: every live one, since replicas do not outlive the process that started
// them); replicas of a deployment no longer live drain and stop. Stepping down stops every replica. Staging
// deploys, approvals, stops and rollbacks only commit the deployment's row and wake this loop.
// Deployments on Kubernetes (backend "kubernetes") are reconciled against the cluster instead: their
// Deployment, Service and HPA applied as the row says, the rollout read back (../deployments/kubernetes-reconcile.ts).
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "@/db/client";
import { LIVE_DEPLOYMENT_STATUSES, deployments } from "@/db/schema";
import type { KubernetesServing } from "../compute/k8s-serving";
import { KubernetesReconcileState, reconcileKubernetes } from "../deployments/kubernetes-reconcile";
import type { DeploymentRuntime } from "../deployments/runtime";
import { stopAllReplicas } from "../deployments/runtime";
import { wake } from "./registry";
import type { Loop } from "./runtime";
import { log } from "../observability/log";

export class DeploymentReconciler implements Loop {
  readonly name = "deployments" as const;
  private readonly k8sState = new KubernetesReconcileState();
  constructor(private readonly db: Db, private readonly runtime: DeploymentRuntime, readonly intervalMs: number, private readonly kubernetes: KubernetesServing | null = null) {}

  async onLead(): Promise<void> {
    const n = await this.reconcile();
    if (n) log.info(`brought up ${n} deployment(s)`);
  }

  async tick(): Promise<void> {
    await this.reconcile();
  }

  /** One pass; resolves with how many deployments it brought up. */
  async reconcile(): Promise<number> {
    const live = await this.db
      .select({ id: deployments.id })
      .from(deployments)
      .where(and(eq(deployments.backend, "local"), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))
      .orderBy(deployments.createdAt);
    const wanted = new Set(live.map((d) => d.id));
    let started = 0;
    for (const { id } of live) {
      if (this.runtime.isServing(id)) continue;
      this.runtime.bringUp(this.db, id);
      await this.runtime.settled(id);
      started += 1;
    }
    // No longer live (stopped, replaced, failed): the replicas drain, then end.
    await Promise.all(this.runtime.servingIds().filter((id) => !wanted.has(id)).map((id) => this.runtime.retire(id)));
    let ready = 0;
    if (this.kubernetes) {
      const pass = await reconcileKubernetes(this.db, this.kubernetes, this.k8sState);
      for (const error of pass.errors) log.error(`serving on Kubernetes: ${error}`);
      ready = pass.becameReady.length;
    }
    // What came up may be production's new deployment (or a rollback): the promotion worker moves production to it.
    if (started > 0 || ready > 0) wake("promotion");
    return started + ready;
  }

  async onStepDown(): Promise<void> {
    await stopAllReplicas();
  }
}
