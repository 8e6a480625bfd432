// PATCH /api/v1/deployments/{id}: how a live deployment scales (autoscaling on or off, its bounds, its
// target concurrency, or a fixed replica count). Only the intent is committed here, with its event and
// audit row; the autoscaler's loop has the replica manager carry it out within a tick.
import { eq } from "drizzle-orm";
import { LIVE_DEPLOYMENT_STATUSES, deploymentEvents, deployments } from "@/db/schema";
import type { ScaleDeploymentInput } from "@/lib/schemas/deployments";
import { appendAudit, denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import type { DeploymentDto } from "./service";
import { getDeployment, loadDeployment } from "./service";
import { wake } from "../workers/registry";
import { lockedReplicaRoom, teamReplicaRefusal } from "./prepare";

export async function scaleDeployment(ctx: Ctx, id: string, input: ScaleDeploymentInput): Promise<DeploymentDto> {
  const row = await loadDeployment(ctx, id, { mode: "write", action: "deployment.scale" });
  if (!LIVE_DEPLOYMENT_STATUSES.includes(row.status)) throw new AppError("conflict", `Deployment ${id} is ${row.status}; only a live deployment can be scaled (deploy the model again instead).`);
  const autoScale = input.auto_scale ?? row.autoScale;
  let min: number, max: number, replicas: number;
  if (autoScale) {
    // Bounds from a fixed deployment (min = max = replicas) do not carry over when autoscaling is turned on.
    const wasFixed = !row.autoScale;
    min = input.min_replicas ?? (wasFixed ? 1 : row.minReplicas);
    max = input.max_replicas ?? (wasFixed ? Math.max(10, row.replicas) : row.maxReplicas);
    if (min > max) throw new AppError("invalid_input", `min_replicas (${min}) is more than max_replicas (${max}).`);
    replicas = input.replicas ?? Math.min(Math.max(row.replicas, min, 1), max);
    if (replicas < min || replicas > max) throw new AppError("invalid_input", `replicas (${replicas}) must lie between min_replicas (${min}) and max_replicas (${max}).`);
  } else {
    if (input.min_replicas !== undefined || input.max_replicas !== undefined) {
      throw new AppError("invalid_input", "min_replicas and max_replicas bound autoscaling; with auto_scale false the deployment keeps `replicas`.");
    }
    replicas = input.replicas ?? row.replicas;
    min = max = replicas;
  }
  // Production's size was decided with its approval (the evidence priced its replicas): going past it is a
  // team lead's decision, as the deploy was. Lowering, or changing the target, is the deployer's.
  const ceiling = autoScale ? max : replicas;
  const approved = row.autoScale ? row.maxReplicas : row.replicas;
  if (row.environment === "production" && ceiling > approved && !can(ctx.actor, "approve_production", row.teamId)) {
    throw await denied(ctx, {
      action: "deployment.scale", target: `deployment:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, mode: "write",
      message: `Raising production past ${approved} replica${approved === 1 ? "" : "s"} (what was approved) needs a team lead of ${row.team}; you may lower it, or change target_concurrency.`,
    });
  }
  const targetConcurrency = input.target_concurrency ?? row.targetConcurrency;
  const change = { auto_scale: autoScale, replicas, min_replicas: min, max_replicas: max, target_concurrency: targetConcurrency };
  await ctx.db.transaction(async (tx) => {
    // The deployment's row first, then (to grow) the team's quota row and the host's lock: the order every writer takes them in.
    const [still] = await tx
      .select({ status: deployments.status, replicas: deployments.replicas, autoScale: deployments.autoScale, minReplicas: deployments.minReplicas, maxReplicas: deployments.maxReplicas })
      .from(deployments).where(eq(deployments.id, row.id)).for("update");
    if (!still || !LIVE_DEPLOYMENT_STATUSES.includes(still.status)) throw new AppError("conflict", `Deployment ${id} was stopped or replaced meanwhile; nothing was changed.`);
    // This change was decided (and, for production, allowed) against the size as read: another change committed
    // meanwhile (a lead lowering production, say) is not silently overridden.
    if (still.autoScale !== row.autoScale || still.minReplicas !== row.minReplicas || still.maxReplicas !== row.maxReplicas || (!row.autoScale && still.replicas !== row.replicas)) {
      throw new AppError("conflict", `Deployment ${id} was rescaled by someone else while this change was on its way; nothing was changed. Read it again (GET /api/v1/deployments/${id}) and send the change again.`);
    }
    // Fewer replicas always fit; more must fit the team's max_replicas and the host's cap, as counted now.
    if (replicas > still.replicas) {
      const room = await lockedReplicaRoom(tx, { id: row.teamId, slug: row.team }, { except: row.id, host: row.backend === "local" });
      const fits = room.team.max === null ? replicas : Math.max(still.replicas, room.team.max - room.team.used);
      const refused = teamReplicaRefusal(room, { from: still.replicas, to: replicas }, `Ask for at most ${fits}, stop a deployment, or ask an admin to raise max_replicas.`);
      if (refused) throw refused;
      // Replicas are processes on this host: all teams together stay under the host's cap.
      const { used: others, max: cap } = room.host;
      if (row.backend === "local" && others + replicas > cap) {
        throw new AppError("quota_exceeded", `This Cairn host runs ${others + still.replicas} of its ${cap} model replicas (CAIRN_LOCAL_REPLICAS_MAX, all teams together); ${replicas} for this deployment do not fit. Ask for at most ${Math.max(still.replicas, cap - others)}.`);
      }
    }
    await tx.update(deployments).set({ autoScale, replicas, minReplicas: min, maxReplicas: max, targetConcurrency, ...(replicas !== still.replicas ? { scaledAt: new Date() } : {}) }).where(eq(deployments.id, row.id));
    const what = autoScale ? `autoscaling ${min}–${max} replicas at ${targetConcurrency} requests in flight per replica` : `a fixed ${replicas} replica${replicas === 1 ? "" : "s"}`;
    const moved = replicas !== still.replicas ? `; scaled ${still.replicas} → ${replicas}` : "";
    await tx.insert(deploymentEvents).values({ deploymentId: row.id, status: still.status, message: `${ctx.actor.email} set ${what}${moved}` });
    await appendAudit(tx, ctx, { action: "deployment.scale", target: `deployment:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, details: { ...change, from_replicas: still.replicas } });
  });
  // On Kubernetes the reconciler carries the new size (or bounds) to the Deployment and its HPA.
  if (row.backend === "kubernetes") wake("deployments");
  return getDeployment(ctx, row.id);
}
