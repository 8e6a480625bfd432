// A deployment's status change as the serving backends write it: the row (only while it is in one of `from`,
// live by default, so a stop that raced the change wins) and its event, in one transaction.
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "@/db/client";
import type { DeploymentStatus } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deploymentEvents, deployments } from "@/db/schema";

/** Resolves with whether the row changed (false: it had left `from` meanwhile, and nothing was written). */
export async function setDeploymentStatus(db: Db, id: string, status: DeploymentStatus, message: string | null, opts: { from?: readonly DeploymentStatus[]; readyAt?: boolean } = {}): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [changed] = await tx
      .update(deployments)
      .set({ status, message, ...(opts.readyAt ? { readyAt: new Date() } : {}) })
      .where(and(eq(deployments.id, id), inArray(deployments.status, [...(opts.from ?? LIVE_DEPLOYMENT_STATUSES)])))
      .returning({ id: deployments.id });
    if (changed) await tx.insert(deploymentEvents).values({ deploymentId: id, status, message });
    return Boolean(changed);
  });
}
