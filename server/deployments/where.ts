// Where models are deployed, for the registry: its lists show it, and a model (or version) that is
// still served cannot be deleted. Kept apart from the service so the registry does not load the runtime.
import { and, desc, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { DeploymentEnvironment, DeploymentStatus } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deployments } from "@/db/schema";
import { AppError } from "../errors";

export type DeployedAt = { deployment_id: string; environment: DeploymentEnvironment; version: number; status: DeploymentStatus };

/** Where each of these models is deployed now (live deployments), for the registry's lists. */
export async function liveDeploymentsOf(db: DbOrTx, modelIds: string[]): Promise<Map<string, DeployedAt[]>> {
  const out = new Map<string, DeployedAt[]>();
  if (modelIds.length === 0) return out;
  const live = await db
    .select({ id: deployments.id, modelId: deployments.modelId, environment: deployments.environment, version: deployments.version, status: deployments.status })
    .from(deployments)
    .where(and(inArray(deployments.modelId, modelIds), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))
    .orderBy(deployments.environment, desc(deployments.createdAt));
  for (const d of live) {
    const list = out.get(d.modelId) ?? [];
    list.push({ deployment_id: d.id, environment: d.environment, version: d.version, status: d.status });
    out.set(d.modelId, list);
  }
  return out;
}

/** Refuses to delete a model (or one version) that is still deployed: its replicas would lose their source. */
export async function assertNotDeployed(db: DbOrTx, modelId: string, what: string, version?: number): Promise<void> {
  const [live] = await db
    .select({ id: deployments.id, version: deployments.version, environment: deployments.environment })
    .from(deployments)
    .where(and(eq(deployments.modelId, modelId), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]), version === undefined ? undefined : eq(deployments.version, version)))
    .limit(1);
  if (live) throw new AppError("conflict", `${what} is still deployed (${live.environment} deployment ${live.id} serves version ${live.version}); stop the deployment first.`);
}
