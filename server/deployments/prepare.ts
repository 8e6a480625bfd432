// What every deploy passes before a deployment is written, and the write itself: who may, which version (by
// number, alias or the newest), whether it can be served (READY, ONNX, pinned files), the team's deployment and
// replica quotas and the host's replica cap (under locks, so parallel deploys cannot overshoot them). Staging deploys,
// approvals and rollbacks all write deployments through insertDeployment, so the checks are re-run when a
// lead approves a request made days earlier.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { ModelInspection } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deploymentEvents, deployments, modelAliases, modelVersions, registeredModels, teamQuotas } from "@/db/schema";
import type { DeployModelInput } from "@/lib/schemas/deployments";
import { DEFAULT_TARGET_CONCURRENCY, replicaBounds } from "@/lib/schemas/deployments";
import { appendAudit, denied } from "../audit/record";
import type { Permission } from "../auth/policy";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { env } from "../env";
import { AppError } from "../errors";
import { loadModel, loadVersion } from "../registry/access";
import { servedFile } from "../registry/pins";

/** "repl": every writer of a live deployment's replica count takes it before summing the host's replicas. */
const HOST_REPLICAS_LOCK = 0x7265_706c;

/** The replicas this host runs for every team's live deployments (but `except`); the caller holds the host lock. */
async function hostReplicas(tx: DbOrTx, except?: string): Promise<number> {
  const [{ replicas }] = (await tx
    .select({ replicas: sql<number>`coalesce(sum(${deployments.replicas}), 0)::int` })
    .from(deployments)
    .where(and(eq(deployments.backend, "local"), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]), except ? sql`${deployments.id} <> ${except}` : undefined))) as [{ replicas: number }];
  return replicas;
}

/** What a team's and the host's live deployments run now (but the one being rescaled), and their limits. */
export type ReplicaRoom = {
  /** `max` is the team's max_replicas and `maxDeployments` its max_deployments; null: the team has no quota row (no limit). */
  team: { slug: string; used: number; max: number | null; maxDeployments: number | null };
  /** CAIRN_LOCAL_REPLICAS_MAX: every team's local replicas together. */
  host: { used: number; max: number };
};

/**
 * The replicas a team and the host run, read under the locks every writer of a replica count takes (deploy,
 * approval, rollback, PATCH scale, the autoscaler), always in this order: the team's quota row FOR UPDATE, then
 * the host's advisory lock. A writer that also locks the deployment it changes (scale, autoscaler, rollback)
 * locks that row before both. Racing writers therefore cannot both fit under the team's max_replicas or
 * CAIRN_LOCAL_REPLICAS_MAX, and never wait on each other in a circle.
 *
 * The team's replicas are summed over its live deployments on every backend; the host's over local ones only.
 * A replacement (the deployment an approval or a rollback writes) counts beside the one it replaces until that
 * one stops, as max_deployments counts both: the new replicas serve before the old stop, so the switch needs
 * room for both.
 */
export async function lockedReplicaRoom(tx: DbOrTx, team: { id: string; slug: string }, opts: { except?: string; hostMax?: number; host?: boolean } = {}): Promise<ReplicaRoom> {
  const [quota] = await tx.select({ maxReplicas: teamQuotas.maxReplicas, maxDeployments: teamQuotas.maxDeployments }).from(teamQuotas).where(eq(teamQuotas.teamId, team.id)).for("update");
  // Only writers of local replicas need the host's lock (host: false for a deployment on Kubernetes).
  if (opts.host !== false) await tx.execute(sql`select pg_advisory_xact_lock(${HOST_REPLICAS_LOCK})`);
  const [{ used }] = (await tx
    .select({ used: sql<number>`coalesce(sum(${deployments.replicas}), 0)::int` })
    .from(deployments)
    .where(and(eq(deployments.teamId, team.id), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]), opts.except ? sql`${deployments.id} <> ${opts.except}` : undefined))) as [{ used: number }];
  return {
    team: { slug: team.slug, used, max: quota?.maxReplicas ?? null, maxDeployments: quota?.maxDeployments ?? null },
    host: { used: await hostReplicas(tx, opts.except), max: opts.hostMax ?? env().localReplicasMax },
  };
}

/**
 * Whether a deployment running `from` replicas (0: a new one) may run `to` under its team's max_replicas; a
 * decrease always may (even over a quota an admin lowered). `hint` says what to do instead.
 */
export function teamReplicaRefusal(room: ReplicaRoom, change: { from: number; to: number }, hint: string): AppError | null {
  const { slug, used, max } = room.team;
  if (max === null || change.to <= change.from || used + change.to <= max) return null;
  return new AppError("quota_exceeded", `Team ${slug} runs ${used + change.from} of its ${max} replicas (max_replicas); ${change.to - change.from} more do not fit. ${hint}`);
}

/** Where deployments are served, by configuration (CAIRN_COMPUTE_BACKEND): local processes or the team's namespace. */
export function servingBackend(): "local" | "kubernetes" {
  return env().computeBackend;
}

/** Which permission a change to a deployment of this environment needs. */
export const permissionFor = (environment: "staging" | "production"): Permission => (environment === "production" ? "deploy_production" : "deploy_staging");

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
  backend: "local" | "kubernetes";
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
  const backend = servingBackend();
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
  const [v] = await tx.select({ status: modelVersions.status, digest: modelVersions.contentDigest, manifest: modelVersions.contentManifest, inspection: modelVersions.inspection }).from(modelVersions).where(eq(modelVersions.id, d.version.id));
  // Re-checked as the deployment is written: an approval may come a week after the request.
  if (v && v.status !== "READY") throw new AppError("conflict", `Version ${d.version.number} of ${d.model.name} is ${v.status} now, not READY; nothing was deployed.`);
  if (v && (v.inspection.format !== "onnx" || !v.inspection.onnxPath)) throw new AppError("conflict", `Version ${d.version.number} of ${d.model.name} is not an ONNX model (format: ${v.inspection.format}); nothing was deployed.`);
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
 * deployment and replica quotas and the host's replica cap under locks (lockedReplicaRoom): parallel deploys
 * cannot overshoot them. A replacement counts beside the deployment it replaces (see lockedReplicaRoom).
 */
export async function insertDeployment(tx: DbOrTx, ctx: Omit<Ctx, "db">, d: PreparedDeploy, by: { userId: string | null; email: string }, how: string): Promise<string> {
  // The model and version may not be deleted while this deploy commits (deletion checks for live deployments under the same lock).
  // Model first, then version: the order deletion takes them in, so the two never deadlock. Taken before the quota
  // row and the host lock, so a deploy never holds those (every team's) while it waits on its own model.
  const [model] = await tx.select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.id, d.model.id)).for("share");
  const [held] = model ? await tx.select({ id: modelVersions.id }).from(modelVersions).where(eq(modelVersions.id, d.version.id)).for("share") : [];
  if (!held) throw new AppError("conflict", `Version ${d.version.number} of ${d.model.name} was deleted meanwhile; nothing was deployed.`);
  const room = await lockedReplicaRoom(tx, d.team, { host: d.backend === "local" });
  const [{ live }] = (await tx
    .select({ live: sql<number>`count(*)::int` })
    .from(deployments)
    .where(and(eq(deployments.teamId, d.team.id), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))) as [{ live: number }];
  const maxDeployments = room.team.maxDeployments;
  if (maxDeployments !== null && live >= maxDeployments) {
    throw new AppError("quota_exceeded", `Team ${d.team.slug} already runs ${live} of its ${maxDeployments} deployments. Stop one (DELETE /api/v1/deployments/{id}) or ask an admin to raise max_deployments.`);
  }
  const refused = teamReplicaRefusal(room, { from: 0, to: d.replicas }, "Deploy with fewer replicas, stop a deployment, or ask an admin to raise max_replicas.");
  if (refused) throw refused;
  // Local replicas are processes on this host: all teams together stay under the host's cap (on Kubernetes the
  // namespace's ResourceQuota and the cluster's capacity bound them instead).
  const { used: replicas, max: cap } = room.host;
  if (d.backend === "local" && replicas + d.replicas > cap) {
    throw new AppError("quota_exceeded", `This Cairn host already runs ${replicas} of its ${cap} model replicas (CAIRN_LOCAL_REPLICAS_MAX, all teams together); ${d.replicas} more do not fit. Deploy with fewer replicas or stop a deployment.`);
  }
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
