// Traffic splits on a model's stable address (canary and A/B): the deployment the address reaches stays the
// baseline, and a new deployment of another version of the same model — the candidate — takes a share of the
// requests. Requests commit intent (the candidate's deployment row and the split, with the audit row); the
// deployment reconciler brings the candidate's replicas up like any deployment's, on either backend.
// Promote: the candidate takes everything (the baseline stops, production's protected alias moves to it);
// abort: the candidate stops. Production splits start through an approval (server/approvals/split.ts), which
// writes them through insertSplit here.
import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { SplitSpec } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, approvalRequests, deploymentEvents, deploymentSplitEvents, deploymentSplits, deployments, modelVersions, registeredModels, teams } from "@/db/schema";
import type { SplitDto, StartSplitInput } from "@/lib/schemas/splits";
import { SPLIT_KEY_HEADER } from "@/lib/schemas/splits";
import { appendAudit } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { protectedAliases } from "../registry/access";
import { moveAlias } from "../registry/aliases";
import { wake } from "../workers/registry";
import { stableEndpointOf } from "./endpoints";
import type { PreparedDeploy } from "./prepare";
import { insertDeployment, permissionFor, prepareDeploy } from "./prepare";
import { loadDeployment } from "./service";
import { variantFigures } from "./split-figures";

type Split = typeof deploymentSplits.$inferSelect;
type Baseline = Awaited<ReturnType<typeof loadDeployment>>;

/** A split request checked and resolved: the baseline, the candidate's deploy, and the split as it will run. */
export type PreparedSplit = { baseline: Baseline; candidate: PreparedDeploy; spec: SplitSpec };

const missingSplit = (id: string) => new AppError("conflict", `Deployment ${id} has no active traffic split; start one first (POST /api/v1/deployments/${id}/split).`);

/** The checks a split passes before anything is written (again under locks when it is written): who may, which version, what baseline. */
export async function prepareSplit(ctx: Ctx, id: string, input: StartSplitInput): Promise<PreparedSplit> {
  const baseline = await loadDeployment(ctx, id, { mode: "write", action: "deployment.split.start" });
  if (input.model !== undefined && input.model !== baseline.modelNow) {
    throw new AppError("invalid_input", `A split's candidate must be a version of the deployment's own model (${baseline.modelNow}), not of ${input.model}.`, { fields: { model: [`must be ${baseline.modelNow}`] } });
  }
  if (baseline.status !== "ready") throw new AppError("conflict", `Deployment ${id} is ${baseline.status}; a split starts from a deployment that serves (status ready).`);
  await refuseSplitHere(ctx.db, baseline);
  if (input.version === baseline.version) {
    throw new AppError("invalid_input", `Deployment ${id} already serves version ${input.version}; the candidate must be another version of ${baseline.modelNow}.`, { fields: { version: ["must differ from the baseline's version"] } });
  }
  const [exists] = await ctx.db.select({ id: modelVersions.id }).from(modelVersions).where(and(eq(modelVersions.modelId, baseline.modelId), eq(modelVersions.version, input.version)));
  if (!exists) throw new AppError("invalid_input", `Model ${baseline.modelNow} has no version ${input.version}; pick one of its registered versions as the candidate.`, { fields: { version: ["no such version of this model"] } });
  const candidate = await prepareDeploy(ctx, baseline.modelNow, {
    team: baseline.team, version: input.version, environment: baseline.environment, replicas: input.replicas,
    auto_scale: baseline.autoScale, min_replicas: baseline.autoScale ? 1 : undefined, max_replicas: baseline.autoScale ? Math.max(input.replicas, baseline.maxReplicas) : undefined,
    target_concurrency: baseline.targetConcurrency, traffic: input.weight,
  });
  const spec: SplitSpec = {
    baseline_deployment_id: baseline.id, baseline_version: baseline.version, weight: input.weight, sticky: input.sticky,
    abort: { error_share_points: input.abort?.error_share_points ?? null, p99_ms: input.abort?.p99_ms ?? null, min_requests: input.abort?.min_requests ?? 100 },
  };
  return { baseline, candidate, spec };
}

/** A baseline must be live, no split's candidate itself, and without an active split. */
async function refuseSplitHere(db: DbOrTx, baseline: { id: string; status: string }): Promise<void> {
  if (!(LIVE_DEPLOYMENT_STATUSES as readonly string[]).includes(baseline.status)) throw new AppError("conflict", `Deployment ${baseline.id} is ${baseline.status}; a split needs a baseline that serves.`);
  const [active] = await db.select({ id: deploymentSplits.id, baselineId: deploymentSplits.baselineId }).from(deploymentSplits)
    .where(and(eq(deploymentSplits.status, "active"), or(eq(deploymentSplits.baselineId, baseline.id), eq(deploymentSplits.candidateId, baseline.id))));
  if (active?.baselineId === baseline.id) throw new AppError("conflict", `Deployment ${baseline.id} already has an active traffic split (${active.id}); promote or abort it first.`);
  if (active) throw new AppError("conflict", `Deployment ${baseline.id} is the candidate of the split on deployment ${active.baselineId}; promote or abort that split first.`);
}

/**
 * Writes the candidate's deployment and the split inside the caller's transaction (a staging start, or a
 * production approval): the baseline is locked and checked again, the candidate passes every deploy check
 * (quotas, pinned bytes) in insertDeployment.
 */
export async function insertSplit(tx: DbOrTx, ctx: Omit<Ctx, "db">, d: { candidate: PreparedDeploy; spec: SplitSpec; approvalId?: string }, by: { userId: string | null; email: string }, how: string): Promise<{ splitId: string; candidateId: string }> {
  const [baseline] = await tx.select({ id: deployments.id, status: deployments.status, version: deployments.version, teamId: deployments.teamId, modelId: deployments.modelId, environment: deployments.environment })
    .from(deployments).where(eq(deployments.id, d.spec.baseline_deployment_id)).for("update");
  const instead = d.approvalId ? " Reject the request and ask for the split again on the deployment that serves now." : "";
  if (!baseline || baseline.teamId !== d.candidate.team.id || baseline.modelId !== d.candidate.model.id) throw new AppError("conflict", `Deployment ${d.spec.baseline_deployment_id} no longer exists; nothing was started.${instead}`);
  if (baseline.status !== "ready") throw new AppError("conflict", `Deployment ${baseline.id} is ${baseline.status} now; a split starts from a deployment that serves, so nothing was started.${instead}`);
  await refuseSplitHere(tx, baseline);
  const candidateId = await insertDeployment(tx, ctx, { ...d.candidate, origin: d.approvalId ? `approval ${d.approvalId}` : `split of ${baseline.id}` }, by, how);
  const [split] = await tx.insert(deploymentSplits).values({
    teamId: d.candidate.team.id, modelId: d.candidate.model.id, baselineId: baseline.id, candidateId, environment: baseline.environment,
    weight: d.spec.weight, sticky: d.spec.sticky, maxErrorSharePoints: d.spec.abort.error_share_points, maxP99IncreaseMs: d.spec.abort.p99_ms, minRequests: d.spec.abort.min_requests,
    approvalId: d.approvalId ?? null, startedBy: by.userId, startedByEmail: by.email,
  }).returning({ id: deploymentSplits.id });
  await tx.update(deployments).set({ traffic: 100 - d.spec.weight }).where(eq(deployments.id, baseline.id));
  const message = `traffic split started: version ${d.candidate.version.number} (deployment ${candidateId}) takes ${d.spec.weight} % of ${stableEndpointOf(d.candidate.team.slug, d.candidate.model.name, baseline.environment)}${d.spec.sticky ? `, sticky by ${SPLIT_KEY_HEADER}` : ""}`;
  await tx.insert(deploymentSplitEvents).values({ splitId: split!.id, kind: "started", message: `${how}: ${message}`, details: { ...d.spec, candidate_deployment_id: candidateId, candidate_version: d.candidate.version.number } });
  await tx.insert(deploymentEvents).values({ deploymentId: baseline.id, status: "ready", message });
  await appendAudit(tx, ctx, {
    action: "deployment.split.start", target: `deployment:${d.candidate.team.slug}/${baseline.id}`, teamId: d.candidate.team.id, team: d.candidate.team.slug,
    details: { split_id: split!.id, candidate_deployment_id: candidateId, candidate_version: d.candidate.version.number, ...d.spec, approval_id: d.approvalId ?? null },
  });
  return { splitId: split!.id, candidateId };
}

/** Staging: the split starts at once (its candidate comes up through the reconciler). */
export async function createSplit(ctx: Ctx, p: PreparedSplit): Promise<SplitDto> {
  await ctx.db.transaction((tx) => insertSplit(tx, ctx, p, { userId: ctx.actor.userId, email: ctx.actor.email }, `${ctx.actor.email} started a split`));
  wake("deployments");
  return (await getSplit(ctx, p.baseline.id)).split!;
}

/** The split a deployment takes part in: the active one (as baseline or candidate), else its most recent. */
export async function splitOf(db: DbOrTx, deploymentId: string): Promise<Split | null> {
  const [s] = await db.select().from(deploymentSplits)
    .where(or(eq(deploymentSplits.baselineId, deploymentId), eq(deploymentSplits.candidateId, deploymentId)))
    .orderBy(sql`${deploymentSplits.status} = 'active' desc`, desc(deploymentSplits.startedAt))
    .limit(1);
  return s ?? null;
}

async function splitDto(ctx: Ctx, s: Split, row: Baseline): Promise<SplitDto> {
  const [members, events, figures] = await Promise.all([
    ctx.db.select({ id: deployments.id, version: deployments.version, status: deployments.status }).from(deployments).where(inArray(deployments.id, [s.baselineId, s.candidateId])),
    ctx.db.select().from(deploymentSplitEvents).where(eq(deploymentSplitEvents.splitId, s.id)).orderBy(desc(deploymentSplitEvents.id)).limit(100),
    variantFigures(ctx.db, s),
  ]);
  const of = (id: string) => members.find((m) => m.id === id) ?? { id, version: 0, status: "stopped" as const };
  const weights = { baseline: s.status === "promoted" ? 0 : s.status === "aborted" ? 100 : 100 - s.weight, candidate: s.status === "promoted" ? 100 : s.status === "aborted" ? 0 : s.weight };
  const variant = (v: "baseline" | "candidate") => {
    const d = of(v === "baseline" ? s.baselineId : s.candidateId);
    return { variant: v, deployment_id: d.id, version: d.version, status: d.status, weight: weights[v], ...figures[v] };
  };
  const mayChange = s.status === "active" && can(ctx.actor, permissionFor(s.environment), s.teamId);
  return {
    split_id: s.id, status: s.status, environment: s.environment, model: row.modelNow, stable_endpoint: stableEndpointOf(row.team, row.modelNow, s.environment),
    weight: s.weight, sticky: s.sticky, sticky_header: SPLIT_KEY_HEADER,
    abort: { error_share_points: s.maxErrorSharePoints, p99_ms: s.maxP99IncreaseMs, min_requests: s.minRequests },
    baseline: variant("baseline"), candidate: variant("candidate"), approval_id: s.approvalId,
    started_by: s.startedByEmail, started_at: s.startedAt.toISOString(), ended_at: s.endedAt?.toISOString() ?? null, ended_by: s.endedByEmail, end_reason: s.endReason,
    events: events.map((e) => ({ at: e.at.toISOString(), kind: e.kind, message: e.message, details: e.details ?? null })),
    viewer_can: { promote: mayChange, abort: mayChange },
  };
}

/**
 * GET /api/v1/deployments/{id}/split: the deployment's split (active, else its latest) with both variants' figures
 * (null when it never had one), and the production split requests on it that wait for a team lead.
 */
export async function getSplit(ctx: Ctx, id: string): Promise<{ split: SplitDto | null; pending_requests: { id: string; version: number; weight: number; requested_by: string }[] }> {
  const row = await loadDeployment(ctx, id, { mode: "read" });
  const [s, pending] = await Promise.all([
    splitOf(ctx.db, row.id),
    ctx.db.select({ id: approvalRequests.id, version: approvalRequests.version, spec: approvalRequests.spec, requestedBy: approvalRequests.requestedByEmail }).from(approvalRequests)
      .where(and(eq(approvalRequests.teamId, row.teamId), eq(approvalRequests.status, "pending"), sql`${approvalRequests.expiresAt} >= now()`, sql`${approvalRequests.spec}->'split'->>'baseline_deployment_id' = ${row.id}`))
      .orderBy(desc(approvalRequests.createdAt)).limit(20),
  ]);
  return {
    split: s ? await splitDto(ctx, s, row) : null,
    pending_requests: pending.map((p) => ({ id: p.id, version: p.version, weight: p.spec.split?.weight ?? 0, requested_by: p.requestedBy })),
  };
}

/**
 * Ends an active split inside the caller's transaction: "aborted" stops the candidate; "promoted" stops the
 * baseline (and in production moves the protected alias to the candidate's version). Null when it is not active any more.
 */
export async function endSplit(tx: DbOrTx, ctx: Omit<Ctx, "db">, splitId: string, end: { outcome: "promoted" | "aborted"; kind: string; reason: string; by: string; details?: Record<string, unknown> }): Promise<Split | null> {
  const [s] = await tx.select().from(deploymentSplits).where(eq(deploymentSplits.id, splitId)).for("update");
  if (s?.status !== "active") return null;
  const now = new Date();
  const stopping = end.outcome === "promoted" ? s.baselineId : s.candidateId;
  const staying = end.outcome === "promoted" ? s.candidateId : s.baselineId;
  const [kept] = await tx.select({ id: deployments.id, version: deployments.version, modelName: deployments.modelName, status: deployments.status }).from(deployments).where(eq(deployments.id, staying));
  await tx.update(deploymentSplits).set({ status: end.outcome, endedAt: now, endedByEmail: end.by, endReason: end.reason }).where(eq(deploymentSplits.id, s.id));
  const message = end.outcome === "promoted" ? `replaced by split candidate ${staying} (version ${kept?.version})` : `split aborted: ${end.reason}`;
  const [stopped] = await tx.update(deployments).set({ status: "stopped", stoppedAt: now, message })
    .where(and(eq(deployments.id, stopping), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]))).returning({ id: deployments.id, version: deployments.version, team: deployments.teamId });
  if (stopped) await tx.insert(deploymentEvents).values({ deploymentId: stopping, status: "stopped", message });
  if (kept) {
    await tx.update(deployments).set({ traffic: 100 }).where(eq(deployments.id, staying));
    await tx.insert(deploymentEvents).values({ deploymentId: staying, status: kept.status, message: end.outcome === "promoted" ? `split promoted by ${end.by}: version ${kept.version} takes all of the traffic` : `split ${end.kind === "auto_aborted" ? "aborted automatically" : `aborted by ${end.by}`}: all traffic back on version ${kept.version} (${end.reason})` });
  }
  if (end.outcome === "promoted" && s.environment === "production" && kept) {
    const [model] = await tx.select({ id: registeredModels.id, name: registeredModels.name }).from(registeredModels).where(eq(registeredModels.id, s.modelId)).for("update");
    const team = await teamSlug(tx, s.teamId);
    for (const alias of (await protectedAliases(tx, s.teamId)).filter((a) => a.toLowerCase() === "production")) {
      const from = await moveAlias(tx, ctx, { id: s.modelId, name: model?.name ?? kept.modelName, teamId: s.teamId, teamSlug: team }, alias, kept.version, { who: end.by, via: `split ${s.id}`, details: { split_id: s.id, deployment_id: staying } });
      if (from !== undefined) await tx.insert(deploymentEvents).values({ deploymentId: staying, status: kept.status, message: `@${alias} moved to version ${kept.version}${from === null ? "" : ` (from ${from})`}` });
    }
  }
  await tx.insert(deploymentSplitEvents).values({ splitId: s.id, kind: end.kind, message: `${end.outcome === "promoted" ? "promoted" : "aborted"} by ${end.by}: ${end.reason}`, details: end.details ?? null });
  const team = await teamSlug(tx, s.teamId);
  await appendAudit(tx, ctx, {
    action: end.outcome === "promoted" ? "deployment.split.promote" : "deployment.split.abort", target: `deployment:${team}/${s.baselineId}`, teamId: s.teamId, team,
    details: { split_id: s.id, kind: end.kind, reason: end.reason, candidate_deployment_id: s.candidateId, stopped_deployment_id: stopping, ...end.details },
  });
  return s;
}

async function teamSlug(tx: DbOrTx, teamId: string): Promise<string> {
  const [t] = await tx.select({ slug: teams.slug }).from(teams).where(eq(teams.id, teamId));
  return t?.slug ?? "";
}

async function activeSplitFor(ctx: Ctx, id: string, action: string): Promise<{ row: Baseline; split: Split }> {
  const row = await loadDeployment(ctx, id, { mode: "write", action });
  const s = await splitOf(ctx.db, row.id);
  if (s?.status !== "active") throw missingSplit(id);
  return { row, split: s };
}

/** POST …/split/promote: the candidate takes all of the traffic; the baseline's replicas are released. */
export async function promoteSplit(ctx: Ctx, id: string): Promise<SplitDto> {
  const { row, split } = await activeSplitFor(ctx, id, "deployment.split.promote");
  const [candidate] = await ctx.db.select({ status: deployments.status }).from(deployments).where(eq(deployments.id, split.candidateId));
  if (candidate?.status !== "ready") throw new AppError("conflict", `The candidate (deployment ${split.candidateId}) is ${candidate?.status ?? "gone"}, not serving; promote once it serves, or abort the split.`);
  const ended = await ctx.db.transaction((tx) => endSplit(tx, ctx, split.id, { outcome: "promoted", kind: "promoted", reason: `version of deployment ${split.candidateId} takes 100 %`, by: ctx.actor.email }));
  if (!ended) throw missingSplit(id);
  wake("deployments");
  wake("promotion");
  return splitDto(ctx, (await splitOf(ctx.db, split.candidateId))!, row);
}

/** POST …/split/abort: all traffic back on the baseline; the candidate's replicas are released. */
export async function abortSplit(ctx: Ctx, id: string): Promise<SplitDto> {
  const { row, split } = await activeSplitFor(ctx, id, "deployment.split.abort");
  const ended = await ctx.db.transaction((tx) => endSplit(tx, ctx, split.id, { outcome: "aborted", kind: "aborted", reason: "aborted by hand", by: ctx.actor.email }));
  if (!ended) throw missingSplit(id);
  wake("deployments");
  return splitDto(ctx, (await splitOf(ctx.db, split.baselineId))!, row);
}

/** The versions the split form offers as candidates: the model's ready ONNX versions with pinned files, but the deployment's own. */
export async function candidateVersions(ctx: Ctx, id: string): Promise<number[]> {
  const row = await loadDeployment(ctx, id, { mode: "read" });
  const versions = await ctx.db.select({ version: modelVersions.version, status: modelVersions.status, digest: modelVersions.contentDigest, inspection: modelVersions.inspection })
    .from(modelVersions).where(eq(modelVersions.modelId, row.modelId)).orderBy(desc(modelVersions.version)).limit(200);
  return versions.filter((v) => v.version !== row.version && v.status === "READY" && v.digest && v.inspection.format === "onnx").map((v) => v.version);
}
