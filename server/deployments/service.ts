// Deployments: serving a registered ONNX model version behind the inference gateway. Requests commit
// intent — a staging deployment ("deploying"), a stop — with its audit row; the deployment reconciler
// (server/workers) brings replicas up and down. Production deploys go through approvals (server/approvals),
// which write deployments through ./prepare.ts as well.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { DbOrTx } from "@/db/client";
import type { DeploymentStatus, ModelInspection } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deploymentEvents, deployments, modelVersions, registeredModels, teams } from "@/db/schema";
import type { ListDeploymentsQuery } from "@/lib/schemas/deployments";
import { appendAudit, denied } from "../audit/record";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { homeTeam } from "../tracking/access";
import { wake } from "../workers/registry";
import { deploymentRuntime } from "./runtime";
import type { PreparedDeploy } from "./prepare";
import { insertDeployment, permissionFor } from "./prepare";
import { environmentDeployment, stableEndpointOf } from "./endpoints";
import { rollbackTarget } from "./where";

export type DeploymentDto = {
  deployment_id: string;
  team: string;
  model: string;
  version: number;
  alias: string | null;
  environment: "staging" | "production";
  status: DeploymentStatus;
  message: string | null;
  replicas: number;
  /** Replicas serving right now (this process's view of the local backend); null once stopped, and on Kubernetes (see GET /api/v1/deployments/{id}/kubernetes). */
  ready_replicas: number | null;
  auto_scale: boolean;
  min_replicas: number;
  max_replicas: number;
  /** Requests in flight per replica that autoscaling aims at. */
  target_concurrency: number;
  /** When `replicas` last changed by a scale (autoscaler or request); null: never scaled. */
  scaled_at: string | null;
  traffic: number;
  /** This deployment's own (pinned) gateway base path: `/serve/<team>/<deployment_id>`. */
  endpoint: string;
  /** The model's stable address in this deployment's environment, `/serve/<team>/<model>/<environment>`: whichever deployment serves it now. */
  stable_endpoint: string;
  backend: string;
  /** The version's pinned content digest this deployment serves (null: deployed before pinning). */
  content_digest: string | null;
  created_by: string;
  created_at: string;
  ready_at: string | null;
  stopped_at: string | null;
};

export type DeploymentEventDto = { at: string; status: DeploymentStatus; message: string | null };


/** `modelNow`: the registered model's name today (a rename after the deploy changes it; `modelName` is what the replicas serve). */
type Row = typeof deployments.$inferSelect & { team: string; modelNow: string };

export const endpointOf = (team: string, id: string) => `/serve/${team}/${id}`;

function dto(r: Row): DeploymentDto {
  const live = (LIVE_DEPLOYMENT_STATUSES as readonly string[]).includes(r.status);
  return {
    deployment_id: r.id, team: r.team, model: r.modelName, version: r.version, alias: r.alias, environment: r.environment,
    status: r.status, message: r.message, replicas: r.replicas,
    // Local replicas are this process's children; on Kubernetes the count is the cluster's (GET …/kubernetes).
    ready_replicas: live && r.backend === "local" ? (deploymentRuntime().readyReplicas(r.id) ?? 0) : null,
    auto_scale: r.autoScale, min_replicas: r.minReplicas, max_replicas: r.maxReplicas, target_concurrency: r.targetConcurrency,
    scaled_at: r.scaledAt?.toISOString() ?? null, traffic: r.traffic,
    endpoint: endpointOf(r.team, r.id), stable_endpoint: stableEndpointOf(r.team, r.modelNow, r.environment), backend: r.backend, content_digest: r.contentDigest, created_by: r.createdByEmail,
    created_at: r.createdAt.toISOString(), ready_at: r.readyAt?.toISOString() ?? null, stopped_at: r.stoppedAt?.toISOString() ?? null,
  };
}

async function rows(db: DbOrTx, where: SQL | undefined, limit = 500): Promise<Row[]> {
  const selected = await db
    .select({ d: deployments, team: teams.slug, modelNow: registeredModels.name })
    .from(deployments)
    .innerJoin(teams, eq(teams.id, deployments.teamId))
    .innerJoin(registeredModels, eq(registeredModels.id, deployments.modelId))
    .where(where)
    // Live deployments first (a long history of stopped ones never pushes production off the page), newest first.
    .orderBy(sql`${deployments.status} in ('deploying', 'ready', 'scaled_to_zero') desc`, desc(deployments.createdAt), desc(deployments.id))
    .limit(limit);
  return selected.map((s) => ({ ...s.d, team: s.team, modelNow: s.modelNow }));
}

/**
 * A staging deploy, as intent: the deployment (status "deploying") and its audit row in one transaction; the
 * deployment reconciler (a worker) brings its replicas up.
 */
export async function createStagingDeployment(ctx: Ctx, prepared: PreparedDeploy): Promise<StagingAnswer> {
  const id = await ctx.db.transaction((tx) => insertDeployment(tx, ctx, prepared, { userId: ctx.actor.userId, email: ctx.actor.email }, `${ctx.actor.email} deployed`));
  wake("deployments");
  return { deployment_id: id, endpoint: endpointOf(prepared.team.slug, id), stable_endpoint: stableEndpointOf(prepared.team.slug, prepared.model.name, "staging"), status: "deploying" };
}

export type StagingAnswer = { deployment_id: string; endpoint: string; stable_endpoint: string; status: DeploymentStatus };
export type DeployAnswer = StagingAnswer | { approval_request_id: string; status: "pending_approval" };

export async function loadDeployment(ctx: Ctx, id: string, access: { mode: "read" } | { mode: "write"; action: string }): Promise<Row> {
  const missing = `Deployment ${id} was not found.`;
  const [row] = UUID.test(id) ? await rows(ctx.db, eq(deployments.id, id), 1) : [];
  if (!row) throw new AppError("not_found", missing);
  if (!can(ctx.actor, "read_data", row.teamId)) {
    throw await denied(ctx, { action: "deployment.read", target: `deployment:${id}`, teamId: row.teamId, team: row.team, mode: "read", message: missing });
  }
  if (access.mode === "write" && !can(ctx.actor, permissionFor(row.environment), row.teamId)) {
    throw await denied(ctx, {
      action: access.action, target: `deployment:${row.team}/${id}`, teamId: row.teamId, team: row.team, mode: "write",
      message: `Your role in team ${row.team} cannot change ${row.environment} deployments (it needs ${permissionFor(row.environment)}).`,
    });
  }
  return row;
}

export async function getDeployment(ctx: Ctx, id: string): Promise<DeploymentDto> {
  return dto(await loadDeployment(ctx, id, { mode: "read" }));
}

export async function getDeploymentEvents(ctx: Ctx, id: string): Promise<DeploymentEventDto[]> {
  const row = await loadDeployment(ctx, id, { mode: "read" });
  const events = await ctx.db.select().from(deploymentEvents).where(eq(deploymentEvents.deploymentId, row.id)).orderBy(desc(deploymentEvents.id)).limit(200);
  return events.map((e) => ({ at: e.at.toISOString(), status: e.status, message: e.message }));
}

export type DeploymentDetail = DeploymentDto & {
  events: DeploymentEventDto[];
  /** The served model's inputs and outputs, as read from its ONNX graph at registration. */
  signature: ModelInspection["signature"];
  /** The input example logged with the model (MLmodel's saved_input_example_info), as its text; null when none. */
  input_example: string | null;
  /** The version a rollback would serve again (null: nothing to roll back to). */
  rollback_to: number | null;
  /** The deployment `stable_endpoint` reaches now (this one, another, or null when nothing serves the environment). */
  stable_endpoint_reaches: string | null;
};

/** The deployment page: the deployment, what happened to it, and its model's signature (for the try-it panel). */
export async function getDeploymentDetail(ctx: Ctx, id: string): Promise<DeploymentDetail> {
  const row = await loadDeployment(ctx, id, { mode: "read" });
  const [events, [version], target, current] = await Promise.all([
    getDeploymentEvents(ctx, id),
    row.versionId ? ctx.db.select({ inspection: modelVersions.inspection }).from(modelVersions).where(eq(modelVersions.id, row.versionId)) : [],
    rollbackTarget(ctx.db, row),
    environmentDeployment(ctx.db, row.modelId, row.environment),
  ]);
  return {
    ...dto(row), events, signature: version?.inspection.signature ?? null, input_example: version?.inspection.inputExample ?? null, rollback_to: target?.version ?? null,
    stable_endpoint_reaches: current?.status === "ready" ? current.id : null,
  };
}

export async function listDeployments(ctx: Ctx, input: Partial<ListDeploymentsQuery>): Promise<{ deployments: DeploymentDto[] }> {
  const teamIds = input.team ? [(await homeTeam(ctx, input.team)).id] : readableTeamIds(ctx.actor);
  if (teamIds?.length === 0) return { deployments: [] };
  const found = await rows(ctx.db, and(
    teamIds ? inArray(deployments.teamId, teamIds) : undefined,
    input.environment ? eq(deployments.environment, input.environment) : undefined,
    input.status ? eq(deployments.status, input.status) : undefined,
    input.model ? eq(deployments.modelName, input.model) : undefined,
  ), input.limit ?? 100);
  return { deployments: found.map(dto) };
}

/** DELETE /api/v1/deployments/{id}: marks the deployment stopped (the reconciler ends its replicas); the record stays. Idempotent. */
export async function stopDeployment(ctx: Ctx, id: string): Promise<void> {
  const row = await loadDeployment(ctx, id, { mode: "write", action: "deployment.stop" });
  if (row.status === "stopped") return;
  await ctx.db.transaction(async (tx) => {
    const [changed] = await tx.update(deployments).set({ status: "stopped", stoppedAt: new Date(), message: `stopped by ${ctx.actor.email}` })
      .where(and(eq(deployments.id, row.id), sql`${deployments.status} <> 'stopped'`)).returning({ id: deployments.id });
    if (!changed) return;
    await tx.insert(deploymentEvents).values({ deploymentId: row.id, status: "stopped", message: `stopped by ${ctx.actor.email}` });
    await appendAudit(tx, ctx, { action: "deployment.stop", target: `deployment:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, details: { model: row.modelName, version: row.version, environment: row.environment } });
  });
  // The stop is committed: the deployment reconciler (a worker) ends the replicas and removes the model's copy.
  wake("deployments");
}
