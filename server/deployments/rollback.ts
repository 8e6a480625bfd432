// POST /api/v1/deployments/{id}/rollback: serve again the version this deployment's model ran before it in the
// same environment. A new deployment of that version starts (same replicas and bounds); once it serves, the
// one rolled back from stops. In production it needs no new approval — the version was approved when it
// went out — and the protected production alias moves back with it. If the older version fails to start,
// the current deployment keeps serving and the answer says so.
import { and, desc, eq, inArray, lt, ne } from "drizzle-orm";
import { LIVE_DEPLOYMENT_STATUSES, deployments, modelAliasEvents, modelAliases, modelVersions } from "@/db/schema";
import { actorLabel } from "../auth/actor";
import { appendAudit } from "../audit/record";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { protectedAliases } from "../registry/access";
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
      lt(deployments.createdAt, current.createdAt), inArray(deployments.status, ["stopped", "ready"]),
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
    traffic: current.traffic, backend: "local",
  };
  const created = await ctx.db.transaction(async (tx) => {
    const newId = await insertDeployment(tx, ctx, prepared, { userId: ctx.actor.userId, email: ctx.actor.email }, `${ctx.actor.email} rolled back from deployment ${id} (version ${current.version})`);
    if (current.environment === "production") {
      const who = actorLabel(ctx.actor);
      const now = Date.now();
      for (const alias of (await protectedAliases(tx, current.teamId)).filter((a) => a.toLowerCase() === "production")) {
        const [prior] = await tx.select({ version: modelAliases.version }).from(modelAliases).where(and(eq(modelAliases.modelId, current.modelId), eq(modelAliases.alias, alias))).for("update");
        if (prior?.version === previous.version) continue;
        await tx.insert(modelAliases).values({ modelId: current.modelId, alias, version: previous.version, updatedBy: who, updatedTime: now })
          .onConflictDoUpdate({ target: [modelAliases.modelId, modelAliases.alias], set: { version: previous.version, updatedBy: who, updatedTime: now } });
        await tx.insert(modelAliasEvents).values({ modelId: current.modelId, alias, fromVersion: prior?.version ?? null, toVersion: previous.version, actor: who, via: `rollback ${id}`, time: now });
      }
    }
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
