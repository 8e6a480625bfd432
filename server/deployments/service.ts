// Deployments: serving a registered ONNX model version behind the inference gateway. A staging deploy
// starts at once (a new deployment each call); production deploys wait for a team lead's approval,
// which is not built yet and is refused with a message that says so. The team's deployment quota is
// checked under a lock on its quota row, so parallel deploys cannot overshoot it.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { DbOrTx } from "@/db/client";
import type { DeploymentStatus, ModelInspection } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deploymentEvents, deployments, modelAliases, modelVersions, registeredModels, teamQuotas, teams } from "@/db/schema";
import type { DeployModelInput, ListDeploymentsQuery } from "@/lib/schemas/deployments";
import { DEFAULT_TARGET_CONCURRENCY, replicaBounds } from "@/lib/schemas/deployments";
import { appendAudit, denied } from "../audit/record";
import type { Permission } from "../auth/policy";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { env } from "../env";
import { AppError } from "../errors";
import { loadModel, loadVersion } from "../registry/access";
import { servedFile } from "../registry/pins";
import { homeTeam } from "../tracking/access";
import { deploymentRuntime } from "./runtime";
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
  /** Replicas serving right now (this process's view of the local backend); null once stopped. */
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
    ready_replicas: live ? (deploymentRuntime().readyReplicas(r.id) ?? 0) : null,
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

/** Which permission a change to a deployment of this environment needs. */
const permissionFor = (environment: "staging" | "production"): Permission => (environment === "production" ? "deploy_production" : "deploy_staging");

/** The version a deploy names: a version number, an alias, or (neither) the newest version. */
async function resolveVersion(ctx: Ctx, name: string, input: DeployModelInput, team: string): Promise<{ versionId: string; version: number; inspection: ModelInspection; status: string; digest: string | null }> {
  let version: number;
  if (input.version !== undefined) {
    version = (await loadVersion(ctx, name, input.version, { mode: "read" }, { team })).version;
  } else {
    const model = await loadModel(ctx, name, { mode: "read" }, { team });
    if (input.alias !== undefined) {
      const [alias] = await ctx.db.select({ version: modelAliases.version }).from(modelAliases).where(and(eq(modelAliases.modelId, model.id), eq(modelAliases.alias, input.alias)));
      if (!alias) throw new AppError("not_found", `Model ${name} has no alias '${input.alias}'. Deploy by version, or set the alias first.`);
      version = alias.version;
    } else {
      const [latest] = await ctx.db.select({ version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.modelId, model.id)).orderBy(desc(modelVersions.version)).limit(1);
      if (!latest) throw new AppError("invalid_input", `Model ${name} has no versions yet; register one before deploying.`);
      version = latest.version;
    }
  }
  const ref = await loadVersion(ctx, name, version, { mode: "read" }, { team });
  const [row] = await ctx.db.select({ inspection: modelVersions.inspection, status: modelVersions.status, digest: modelVersions.contentDigest }).from(modelVersions).where(eq(modelVersions.id, ref.versionId));
  // Deleted between the two reads: as if it never was.
  if (!row) throw new AppError("not_found", `Model Version (name=${name}, version=${version}) not found`);
  return { versionId: ref.versionId, version, inspection: row.inspection, status: row.status, digest: row.digest };
}

/** A deploy request checked and resolved: who may, which version, how many replicas. */
export type PreparedDeploy = {
  model: { id: string; name: string };
  team: { id: string; slug: string };
  version: { id: string; number: number };
  alias: string | null;
  environment: "staging" | "production";
  replicas: number;
  autoScale: boolean;
  minReplicas: number;
  maxReplicas: number;
  targetConcurrency: number;
  traffic: number;
  backend: "local";
  /** "approval <id>" / "rollback <id>": recorded on the deployment and in the alias history it causes. */
  origin?: string;
  /** The content digest the deploy was decided on (an approval's evidence): the version must still have it. */
  contentDigest?: string;
};

/** The checks every deploy passes, staging or production, before anything is written. */
export async function prepareDeploy(ctx: Ctx, name: string, input: DeployModelInput): Promise<PreparedDeploy> {
  const model = await loadModel(ctx, name, { mode: "read" }, { team: input.team });
  const team = { id: model.teamId, slug: model.teamSlug };
  const permission = permissionFor(input.environment);
  if (!can(ctx.actor, permission, team.id)) {
    throw await denied(ctx, {
      action: input.environment === "production" ? "approval.request" : "deployment.create", target: `model:${team.slug}/${name}`, teamId: team.id, team: team.slug, mode: "write",
      message: input.environment === "production"
        ? `Your role in team ${team.slug} cannot request production deploys (it needs deploy_production: ML engineers and team leads). Deploy to staging instead.`
        : `Your role in team ${team.slug} cannot deploy models.`,
    });
  }
  const resolved = await resolveVersion(ctx, name, input, team.slug);
  if (resolved.status !== "READY") throw new AppError("invalid_input", `Version ${resolved.version} of ${name} is ${resolved.status}, not READY; only a ready version can be deployed.`);
  if (resolved.inspection.format !== "onnx" || !resolved.inspection.onnxPath) {
    throw new AppError("invalid_input", `Version ${resolved.version} of ${name} is not an ONNX model (format: ${resolved.inspection.format}). Cairn's model server serves ONNX: register a version whose artifacts hold a model.onnx.`);
  }
  if (!resolved.digest) throw unpinned(name, resolved.version);
  const backend = env().computeBackend;
  if (backend !== "local") {
    throw new AppError("not_implemented", `Serving on the ${backend} backend is not built yet: model replicas run as local processes only. Deploy from a Cairn running with CAIRN_COMPUTE_BACKEND=local.`);
  }
  const replicas = input.replicas;
  const bounds = replicaBounds(input);
  return {
    model: { id: model.id, name }, team, version: { id: resolved.versionId, number: resolved.version }, alias: input.alias ?? null,
    environment: input.environment, replicas, autoScale: input.auto_scale,
    minReplicas: bounds.min,
    maxReplicas: bounds.max,
    targetConcurrency: input.target_concurrency ?? DEFAULT_TARGET_CONCURRENCY,
    traffic: input.traffic, backend,
  };
}

const unpinned = (name: string, version: number) =>
  new AppError("invalid_input", `Version ${version} of ${name} was registered before Cairn pinned versions' files, so nothing proves its files are the ones registered; register it again from its run (model-versions/create or Register model) and deploy the new version.`);

/**
 * The pinned hash a deployment of this version will serve, read under the caller's share lock on the
 * version: refuses a version without a pin, and one whose digest is not the one the deploy was decided on.
 */
async function pinnedServing(tx: DbOrTx, d: PreparedDeploy): Promise<{ contentDigest: string; modelSha256: string }> {
  const [v] = await tx.select({ digest: modelVersions.contentDigest, manifest: modelVersions.contentManifest, inspection: modelVersions.inspection }).from(modelVersions).where(eq(modelVersions.id, d.version.id));
  if (!v?.digest) throw unpinned(d.model.name, d.version.number);
  if (d.contentDigest !== undefined && v.digest !== d.contentDigest) {
    throw new AppError("conflict", `Version ${d.version.number} of ${d.model.name} no longer has the content digest this deploy was decided on (decided on ${d.contentDigest}, the version has ${v.digest}); nothing was deployed. Reject the request and ask for the deploy again.`);
  }
  const served = servedFile(v.manifest, v.inspection.onnxPath);
  if (!served) throw new AppError("invalid_input", `Version ${d.version.number} of ${d.model.name} pinned no ONNX model file (${v.inspection.onnxPath ?? "none found"}); register a version whose artifacts hold a model.onnx.`);
  return { contentDigest: v.digest, modelSha256: served.sha256 };
}

/**
 * Writes a deployment (status "deploying") inside the caller's transaction, after checking the team's
 * deployment quota under a lock on its quota row: parallel deploys cannot overshoot it.
 */
export async function insertDeployment(tx: DbOrTx, ctx: Omit<Ctx, "db">, d: PreparedDeploy, by: { userId: string | null; email: string }, how: string): Promise<string> {
  const [quota] = await tx.select({ max: teamQuotas.maxDeployments }).from(teamQuotas).where(eq(teamQuotas.teamId, d.team.id)).for("update");
  const [{ live }] = (await tx
    .select({ live: sql<number>`count(*)::int` })
    .from(deployments)
    .where(and(eq(deployments.teamId, d.team.id), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))) as [{ live: number }];
  if (quota && live >= quota.max) {
    throw new AppError("quota_exceeded", `Team ${d.team.slug} already runs ${live} of its ${quota.max} deployments. Stop one (DELETE /api/v1/deployments/{id}) or ask an admin to raise max_deployments.`);
  }
  // Replicas are processes on this host: all teams together stay under the host's cap.
  const [{ replicas }] = (await tx
    .select({ replicas: sql<number>`coalesce(sum(${deployments.replicas}), 0)::int` })
    .from(deployments)
    .where(and(eq(deployments.backend, "local"), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))) as [{ replicas: number }];
  const cap = env().localReplicasMax;
  if (replicas + d.replicas > cap) {
    throw new AppError("quota_exceeded", `This Cairn host already runs ${replicas} of its ${cap} model replicas (CAIRN_LOCAL_REPLICAS_MAX, all teams together); ${d.replicas} more do not fit. Deploy with fewer replicas or stop a deployment.`);
  }
  // The model and version may not be deleted while this deploy commits (deletion checks for live deployments under the same lock).
  // Model first, then version: the order deletion takes them in, so the two never deadlock.
  const [model] = await tx.select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.id, d.model.id)).for("share");
  const [held] = model ? await tx.select({ id: modelVersions.id }).from(modelVersions).where(eq(modelVersions.id, d.version.id)).for("share") : [];
  if (!held) throw new AppError("conflict", `Version ${d.version.number} of ${d.model.name} was deleted meanwhile; nothing was deployed.`);
  const pin = await pinnedServing(tx, d);
  const [row] = await tx.insert(deployments).values({
    contentDigest: pin.contentDigest, modelSha256: pin.modelSha256,
    teamId: d.team.id, modelId: d.model.id, versionId: d.version.id, modelName: d.model.name, version: d.version.number, alias: d.alias,
    environment: d.environment, status: "deploying", replicas: d.replicas, autoScale: d.autoScale, minReplicas: d.minReplicas, maxReplicas: d.maxReplicas,
    targetConcurrency: d.targetConcurrency, traffic: d.traffic, backend: d.backend, origin: d.origin ?? null, createdBy: by.userId, createdByEmail: by.email,
  }).returning({ id: deployments.id });
  await tx.insert(deploymentEvents).values({ deploymentId: row!.id, status: "deploying", message: `${how}: version ${d.version.number}${d.alias ? ` (alias ${d.alias})` : ""} with ${d.replicas} replica${d.replicas === 1 ? "" : "s"}` });
  await appendAudit(tx, ctx, {
    action: "deployment.create", target: `deployment:${d.team.slug}/${row!.id}`, teamId: d.team.id, team: d.team.slug,
    details: { model: d.model.name, version: d.version.number, content_digest: pin.contentDigest, alias: d.alias, environment: d.environment, replicas: d.replicas, auto_scale: d.autoScale, min_replicas: d.minReplicas, max_replicas: d.maxReplicas, target_concurrency: d.targetConcurrency, traffic: d.traffic },
  });
  return row!.id;
}

export type StagingAnswer = { deployment_id: string; endpoint: string; stable_endpoint: string; status: DeploymentStatus };
export type DeployAnswer = StagingAnswer | { approval_request_id: string; status: "pending_approval" };

/**
 * POST /api/v1/models/{name}/deploy. Staging: a new deployment, status "deploying" until its replicas
 * serve. Production: an approval request a team lead decides (the deploy waits for it).
 */
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput & { environment: "staging" }): Promise<StagingAnswer>;
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput): Promise<DeployAnswer>;
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput): Promise<DeployAnswer> {
  const prepared = await prepareDeploy(ctx, name, input);
  if (prepared.environment === "production") {
    // Loaded on use: approvals build on this module.
    const { requestProductionDeploy } = await import("../approvals/service");
    return requestProductionDeploy(ctx, prepared, input.note ?? "");
  }
  const id = await ctx.db.transaction((tx) => insertDeployment(tx, ctx, prepared, { userId: ctx.actor.userId, email: ctx.actor.email }, `${ctx.actor.email} deployed`));
  deploymentRuntime().bringUp(ctx.db, id);
  return { deployment_id: id, endpoint: endpointOf(prepared.team.slug, id), stable_endpoint: stableEndpointOf(prepared.team.slug, prepared.model.name, "staging"), status: "deploying" };
}

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
    ...dto(row), events, signature: version?.inspection.signature ?? null, rollback_to: target?.version ?? null,
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

/** DELETE /api/v1/deployments/{id}: stops the replicas; the record stays (status "stopped"). Idempotent. */
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
  // The stop is committed: a failure to end a process or remove its copy is logged, not the caller's error.
  await deploymentRuntime().stop(row.id).catch((err: unknown) => console.error(`[cairn] stopping the replicas of deployment ${row.id} failed`, err));
}
