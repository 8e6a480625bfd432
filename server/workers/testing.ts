// Test helpers: the worker runtime is not started in unit tests; they drive the loops themselves — one job
// scheduler per test database (with the executor a test chooses), and reconciler + promotion passes.
import type { Db } from "@/db/client";
import type { ComputeBackend } from "../compute/backend";
import { LocalBackend } from "../compute/local";
import { deploymentRuntime } from "../deployments/runtime";
import { DeploymentReconciler } from "./deployment-reconciler";
import { JobResourceSampler } from "./job-resources";
import { JobScheduler } from "./job-scheduler";
import { ProductionPromotion } from "./production-promotion";

const schedulers = new WeakMap<Db, JobScheduler>();

export function schedulerFor(db: Db): JobScheduler {
  let s = schedulers.get(db);
  if (!s) {
    s = new JobScheduler({ db, backend: new LocalBackend(), intervalMs: 60_000 });
    schedulers.set(db, s);
  }
  return s;
}

/** From now on this database's scheduler dispatches to `backend`; returns the executor it used before. */
export function useBackend(db: Db, backend: ComputeBackend): ComputeBackend {
  const before = schedulerFor(db).backend;
  schedulers.set(db, new JobScheduler({ db, backend, intervalMs: 60_000 }));
  return before;
}

/** One scheduler pass (admission, cancels, dispatch). */
export function tick(db: Db): Promise<void> {
  return schedulerFor(db).tick();
}

/** One pass of the resource sampler over this database's running jobs, with the scheduler's executor. */
export function sampleResources(db: Db): Promise<void> {
  return new JobResourceSampler({ db, backend: schedulerFor(db).backend }).tick();
}

/** Converges attempts an earlier process left running, as a new leader does. */
export function converge(db: Db): Promise<number> {
  return schedulerFor(db).converge();
}

/**
 * One pass of the deployment reconciler and then of production promotion, as the leader runs them after a
 * deploy, approval, stop or rollback: resolves when bring-ups, promotions and retirements have settled.
 */
export async function settleDeployments(db: Db): Promise<void> {
  await new DeploymentReconciler(db, deploymentRuntime(), 60_000).reconcile();
  await new ProductionPromotion(db, deploymentRuntime(), 60_000).tick();
}
