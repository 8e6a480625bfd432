// POST /api/v1/deployments/{id}/rollback: serve again the version this deployment's model ran before it in the
// same environment. A new deployment of that version starts (same replicas and bounds); once it serves, the
// one rolled back from stops. In production it needs no new approval — the version was approved when it
// went out — and the protected production alias moves back once it serves (the runtime does both). If the
// older version fails to start, the current deployment keeps serving, the alias stays, and the answer says so.
import { and, desc, eq, inArray, isNotNull, lt, ne } from "drizzle-orm";
import { LIVE_DEPLOYMENT_STATUSES, deployments, modelVersions } from "@/db/schema";
import { appendAudit } from "../audit/record";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { deploymentRuntime } from "./runtime";
import type { DeploymentDto, PreparedDeploy } from "./service";
import { getDeployment, insertDeployment, loadDeployment, stopDeployment } from "./service";

export async function rollbackDeployment(ctx: Ctx, id: string): Promise<DeploymentDto> {
  const current = await loadDeployment(ctx, id, { mode: "write", action: "deployment.rollback" });
  if (!LIVE_DEPLOYMENT_STATUSES.includes(current.status)) throw new AppError("conflict", `Deployment ${id} is ${current.status}; only a live deployment can be rolled back (deploy the version you want instead).`);
  // The newest earlier deployment of the model in this environment that served another version.
  const [previous] = await ctx.db
    .select({ version: deployments.version, versionId: deployments.versionId })
    .from(deployments)
    .where(and(
      eq(deployments.modelId, current.modelId), eq(deployments.environment, current.environment), ne(deployments.version, current.version),
      lt(deployments.createdAt, current.createdAt), inArray(deployments.status, ["stopped", "ready"]), isNotNull(deployments.readyAt),
    ))
    .orderBy(desc(deployments.createdAt))
    .limit(1);
  if (!previous) throw new AppError("conflict", `Nothing to roll back to: ${current.modelName} ran no other version in ${current.environment} before deployment ${id}.`);
  const [version] = previous.versionId ? await ctx.db.select({ id: modelVersions.id }).from(modelVersions).where(eq(modelVersions.id, previous.versionId)) : [];
  if (!version) throw new AppError("conflict", `Version ${previous.version} of ${current.modelName}, the one to roll back to, was deleted; deploy another version instead.`);
  const prepared: PreparedDeploy = {
    model: { id: current.modelId, name: current.modelName }, team: { id: current.teamId, slug: current.team },
    version: { id: version.id, number: previous.version }, alias: null, environment: current.environment,
    replicas: current.replicas, autoScale: current.autoScale, minReplicas: current.minReplicas, maxReplicas: current.maxReplicas,
    traffic: current.traffic, backend: "local", origin: `rollback ${id}`,
  };
  const created = await ctx.db.transaction(async (tx) => {
    // One rollback of a deployment at a time, and only while it is still live.
    const [still] = await tx.select({ status: deployments.status }).from(deployments).where(eq(deployments.id, id)).for("update");
    if (!still || !LIVE_DEPLOYMENT_STATUSES.includes(still.status)) throw new AppError("conflict", `Deployment ${id} is no longer live; it was stopped or replaced meanwhile.`);
    const newId = await insertDeployment(tx, ctx, prepared, { userId: ctx.actor.userId, email: ctx.actor.email }, `${ctx.actor.email} rolled back from deployment ${id} (version ${current.version})`);
    await appendAudit(tx, ctx, { action: "deployment.rollback", target: `deployment:${current.team}/${id}`, teamId: current.teamId, team: current.team, details: { from_version: current.version, to_version: previous.version, new_deployment: newId } });
    return newId;
  });
  const runtime = deploymentRuntime();
  runtime.bringUp(ctx.db, created);
  await runtime.settled(created);
  const result = await getDeployment(ctx, created);
  // Production retires the older deployment itself once the new one serves; staging keeps several, so stop it here.
  if (result.status === "ready" && current.environment === "staging") await stopDeployment(ctx, id);
  return result;
}
