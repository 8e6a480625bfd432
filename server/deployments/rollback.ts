// POST /api/v1/deployments/{id}/rollback: serve again the version this deployment's model ran before it in the
// same environment. The request commits a new deployment of that version (same replicas and bounds, origin
// "rollback <id>") and answers it, "deploying"; the deployment reconciler brings it up, and once it serves the
// promotion worker retires the one rolled back from (in production it needs no new approval — the version was
// approved when it went out — and the protected production alias moves back). If the older version fails to
// start, the current deployment keeps serving, the alias stays, and the new deployment's status says why.
import { eq } from "drizzle-orm";
import { LIVE_DEPLOYMENT_STATUSES, deployments } from "@/db/schema";
import { appendAudit } from "../audit/record";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { wake } from "../workers/registry";
import { rollbackTarget } from "./where";
import type { PreparedDeploy } from "./prepare";
import { insertDeployment, servingBackend } from "./prepare";
import type { DeploymentDto } from "./service";
import { getDeployment, loadDeployment } from "./service";

export async function rollbackDeployment(ctx: Ctx, id: string): Promise<DeploymentDto> {
  const current = await loadDeployment(ctx, id, { mode: "write", action: "deployment.rollback" });
  if (!LIVE_DEPLOYMENT_STATUSES.includes(current.status)) throw new AppError("conflict", `Deployment ${id} is ${current.status}; only a live deployment can be rolled back (deploy the version you want instead).`);
  const previous = await rollbackTarget(ctx.db, current);
  if (!previous) throw new AppError("conflict", `Nothing to roll back to: ${current.modelName} served no other version (that still exists) in ${current.environment} before deployment ${id}.`);
  const prepared: PreparedDeploy = {
    model: { id: current.modelId, name: current.modelName }, team: { id: current.teamId, slug: current.team },
    version: { id: previous.versionId, number: previous.version }, alias: null, environment: current.environment,
    replicas: current.replicas, autoScale: current.autoScale, minReplicas: current.minReplicas, maxReplicas: current.maxReplicas, targetConcurrency: current.targetConcurrency,
    traffic: current.traffic, backend: servingBackend(), origin: `rollback ${id}`,
    // The files that served before are the ones served again (a version's digest never changes; this says so).
    ...(previous.contentDigest ? { contentDigest: previous.contentDigest } : {}),
  };
  const created = await ctx.db.transaction(async (tx) => {
    // Only while it is still live: a stop or a replacement that committed first wins.
    const [still] = await tx.select({ status: deployments.status }).from(deployments).where(eq(deployments.id, id)).for("update");
    if (!still || !LIVE_DEPLOYMENT_STATUSES.includes(still.status)) throw new AppError("conflict", `Deployment ${id} is no longer live; it was stopped or replaced meanwhile.`);
    const newId = await insertDeployment(tx, ctx, prepared, { userId: ctx.actor.userId, email: ctx.actor.email }, `${ctx.actor.email} rolled back from deployment ${id} (version ${current.version})`);
    await appendAudit(tx, ctx, { action: "deployment.rollback", target: `deployment:${current.team}/${id}`, teamId: current.teamId, team: current.team, details: { from_version: current.version, to_version: previous.version, new_deployment: newId } });
    return newId;
  });
  wake("deployments");
  return getDeployment(ctx, created);
}
