// Where models are deployed, for the registry: its lists show it, and a model (or version) that is
// still served cannot be deleted. Kept apart from the service so the registry does not load the runtime.
import { and, desc, eq, inArray, isNotNull, lt, ne } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { DeploymentEnvironment, DeploymentStatus } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deployments, modelVersions, registeredModels } from "@/db/schema";
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

/**
 * Refuses to delete a model (or one version) that is still deployed: its replicas would lose their
 * source. Call it inside the deleting transaction: it locks the model row, and a deploy holds the
 * version row (FOR SHARE) until it commits, so no deploy slips in between the check and the delete.
 */
export async function assertNotDeployed(tx: DbOrTx, modelId: string, what: string, version?: number): Promise<void> {
  await tx.select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.id, modelId)).for("update");
  if (version !== undefined) await tx.select({ id: modelVersions.id }).from(modelVersions).where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.version, version))).for("update");
  const [live] = await tx
    .select({ id: deployments.id, version: deployments.version, environment: deployments.environment })
    .from(deployments)
    .where(and(eq(deployments.modelId, modelId), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]), version === undefined ? undefined : eq(deployments.version, version)))
    .limit(1);
  if (live) throw new AppError("conflict", `${what} is still deployed (${live.environment} deployment ${live.id} serves version ${live.version}); stop the deployment first.`);
}

/**
 * The version a rollback of this deployment returns to: the newest earlier deployment of the model in the
 * same environment that served another version. Null when there is none (or its version was deleted).
 */
export async function rollbackTarget(db: DbOrTx, d: { id: string; modelId: string; environment: DeploymentEnvironment; version: number; createdAt: Date }): Promise<{ version: number; versionId: string; contentDigest: string | null } | null> {
  const [previous] = await db
    .select({ version: deployments.version, versionId: modelVersions.id, contentDigest: deployments.contentDigest })
    .from(deployments)
    .innerJoin(modelVersions, eq(modelVersions.id, deployments.versionId))
    .where(and(
      eq(deployments.modelId, d.modelId), eq(deployments.environment, d.environment), ne(deployments.version, d.version),
      lt(deployments.createdAt, d.createdAt), inArray(deployments.status, ["stopped", "ready"]), isNotNull(deployments.readyAt),
    ))
    .orderBy(desc(deployments.createdAt))
    .limit(1);
  return previous ?? null;
}
