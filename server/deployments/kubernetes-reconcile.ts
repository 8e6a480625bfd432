// One pass of the deployment reconciler for deployments on Kubernetes (backend "kubernetes"): each live
// deployment's objects are applied as its row says and its rollout is read back into the row — "ready" once
// every replica of the newest spec is available, "failed" when the rollout cannot finish, an event when
// replicas go missing or come back, and the HPA's replica count (with an event) when it scaled. Model
// Deployments in a team's namespace whose deployment is no longer live (stopped, replaced, failed, or
// unknown) are deleted: the cluster converges on the rows, whatever happened to it meanwhile.
import { and, desc, eq, inArray } from "drizzle-orm";
import type { Db } from "@/db/client";
import type { DeploymentStatus } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deploymentEvents, deployments, teamQuotas, teams } from "@/db/schema";
import type { KubernetesServing, ServingObservation } from "../compute/k8s-serving";
import type { ServingSpec } from "../compute/k8s-serving-manifest";
import { setDeploymentStatus } from "./status";

export type KubernetesPass = { applied: number; becameReady: string[]; failed: string[]; removed: number; errors: string[] };

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/**
 * The HPA's maxReplicas: the deploy's max_replicas, held at what the team's max_replicas leaves beside its other
 * live deployments (never below min_replicas, which the deploy's own quota check admitted). Re-computed every pass.
 */
export function hpaCeiling(d: { replicas: number; minReplicas: number; maxReplicas: number }, teamMax: number | null, teamUsed: number): number {
  if (teamMax === null) return d.maxReplicas;
  const others = teamUsed - d.replicas;
  return Math.max(d.minReplicas, Math.min(d.maxReplicas, teamMax - others));
}

/** Remembers, per deployment, the last available count written (one event per change, not per pass). */
export class KubernetesReconcileState {
  readonly available = new Map<string, number>();
}

export async function reconcileKubernetes(db: Db, serving: KubernetesServing, state: KubernetesReconcileState): Promise<KubernetesPass> {
  const pass: KubernetesPass = { applied: 0, becameReady: [], failed: [], removed: 0, errors: [] };
  const live = await db
    .select({ d: deployments, team: teams.slug })
    .from(deployments)
    .innerJoin(teams, eq(teams.id, deployments.teamId))
    .where(and(eq(deployments.backend, "kubernetes"), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))
    .orderBy(deployments.createdAt);
  // Each team's max_replicas and the replicas its live deployments hold: an HPA may never take a team past its quota.
  const quotas = new Map((await db.select({ teamId: teamQuotas.teamId, max: teamQuotas.maxReplicas }).from(teamQuotas)).map((q) => [q.teamId, q.max]));
  const used = new Map<string, number>();
  for (const r of await db.select({ teamId: deployments.teamId, replicas: deployments.replicas }).from(deployments).where(inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]))) {
    used.set(r.teamId, (used.get(r.teamId) ?? 0) + r.replicas);
  }
  for (const { d, team } of live) {
    if (!d.modelSha256) {
      await setDeploymentStatus(db, d.id, "failed", `deployment ${d.id} holds no pinned model hash, so nothing proves which bytes it would serve; deploy version ${d.version} of ${d.modelName} again`);
      pass.failed.push(d.id);
      continue;
    }
    const spec: ServingSpec = {
      deploymentId: d.id, team, modelName: d.modelName, version: d.version, environment: d.environment, replicas: d.replicas,
      autoScale: d.autoScale, minReplicas: d.minReplicas, maxReplicas: hpaCeiling(d, quotas.get(d.teamId) ?? null, used.get(d.teamId) ?? 0),
      targetConcurrency: d.targetConcurrency, modelSha256: d.modelSha256,
    };
    try {
      const action = await serving.apply(spec);
      if (action !== "unchanged") pass.applied += 1;
      const seen = await serving.observe(spec);
      await follow(db, state, d, seen, pass);
    } catch (err) {
      // The API's own words (quota refusal, missing right, outage) land on the deployment's page; the next pass tries again.
      const message = err instanceof Error ? err.message : String(err);
      pass.errors.push(`${d.id}: ${message}`);
      await eventOnce(db, d, message);
    }
  }
  // What the cluster serves that no live row asks for goes.
  const wanted = new Set(live.map((l) => l.d.id));
  const teamsWithServing = await db
    .selectDistinct({ team: teams.slug })
    .from(deployments)
    .innerJoin(teams, eq(teams.id, deployments.teamId))
    .where(eq(deployments.backend, "kubernetes"));
  for (const { team } of teamsWithServing) {
    try {
      for (const id of await serving.servedIds(team)) {
        if (wanted.has(id)) continue;
        await serving.remove({ deploymentId: id, team });
        state.available.delete(id);
        pass.removed += 1;
      }
    } catch (err) {
      pass.errors.push(`${team}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return pass;
}

/** Adds an event unless the deployment's newest one already says it (a condition seen on every pass is news once). */
async function eventOnce(db: Db, d: { id: string; status: DeploymentStatus }, message: string): Promise<void> {
  const [last] = await db.select({ message: deploymentEvents.message }).from(deploymentEvents).where(eq(deploymentEvents.deploymentId, d.id)).orderBy(desc(deploymentEvents.id)).limit(1);
  if (last?.message !== message) await db.insert(deploymentEvents).values({ deploymentId: d.id, status: d.status, message: message.slice(0, 2000) });
}

async function follow(db: Db, state: KubernetesReconcileState, d: typeof deployments.$inferSelect, seen: ServingObservation, pass: KubernetesPass): Promise<void> {
  // Past the Deployment's progress deadline the rollout has failed; a refused pod (quota, admission) is retried
  // by the controller, so it is an event until then.
  if (seen.failure) {
    if (await setDeploymentStatus(db, d.id, "failed", `the rollout cannot finish: ${seen.failure}`.slice(0, 2000))) pass.failed.push(d.id);
    return;
  }
  if (seen.blocked) await eventOnce(db, d, `Kubernetes cannot create this deployment's pods yet (it keeps trying until the rollout's 600 s deadline): ${seen.blocked}`);
  // The HPA moved the replica count: the row follows, with the HPA's reason as the event.
  if (d.autoScale && seen.hpa && seen.hpa.desired > 0 && seen.hpa.desired !== d.replicas) {
    const why = seen.hpa.conditions.find((c) => c.type === "AbleToScale" && c.message)?.message ?? "the HorizontalPodAutoscaler changed the replica count";
    await db.transaction(async (tx) => {
      // Only the row as read: a PATCH (fixed size, new bounds) committed meanwhile wins, and the next pass applies it.
      const [moved] = await tx.update(deployments).set({ replicas: seen.hpa!.desired, scaledAt: new Date() })
        .where(and(eq(deployments.id, d.id), eq(deployments.autoScale, true), eq(deployments.replicas, d.replicas), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))
        .returning({ id: deployments.id });
      if (moved) await tx.insert(deploymentEvents).values({ deploymentId: d.id, status: d.status, message: `scaled from ${d.replicas} to ${seen.hpa!.desired} replicas by the HorizontalPodAutoscaler: ${why}` });
    });
  }
  const desired = seen.desired;
  const before = state.available.get(d.id);
  state.available.set(d.id, seen.available);
  const complete = seen.observed && desired > 0 && seen.updated >= desired && seen.available >= desired;
  if (d.status !== "ready") {
    if (complete && (await setDeploymentStatus(db, d.id, "ready", `${plural(seen.available, "replica")} of ${desired} available on Kubernetes`, { readyAt: d.readyAt === null }))) pass.becameReady.push(d.id);
    return;
  }
  if (before !== undefined && seen.available < before && seen.available < desired) {
    await db.insert(deploymentEvents).values({ deploymentId: d.id, status: "ready", message: `${seen.available} of ${desired} replicas available on Kubernetes` });
  } else if (before !== undefined && seen.available > before && seen.available >= desired) {
    await db.insert(deploymentEvents).values({ deploymentId: d.id, status: "ready", message: `all ${desired} replicas available again` });
  }
}
