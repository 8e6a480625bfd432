// Production approvals: a production deploy waits as a request with its evidence frozen at request time
// (the candidate's metrics beside the version production holds now, and what the change costs a month).
// A team lead of the team decides it — never their own request. Approving starts the production
// deployment; once it serves, the runtime moves the team's protected production alias to it and stops
// the model's other production deployment, so the alias always names what production serves.
import { and, asc, desc, eq, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { DbOrTx } from "@/db/client";
import type { ApprovalEvidence, ApprovalSpec, ApprovalStatus, MetricComparison, SplitSpec } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, approvalRequests, deployments, latestMetrics, modelAliases, modelVersions, runs, teams } from "@/db/schema";
import type { ApprovalsQuery } from "@/lib/schemas/deployments";
import { DEFAULT_TARGET_CONCURRENCY } from "@/lib/schemas/deployments";
import { checkBudget } from "../costs/budget-service";
import { appendAudit, denied } from "../audit/record";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { DEFAULT_PROTECTED_ALIASES } from "../registry/access";
import { HOURS_PER_MONTH, replicaPrice } from "../costs/prices";
import { homeTeam } from "../tracking/access";
import type { PreparedDeploy } from "../deployments/prepare";
import { insertDeployment, servingBackend } from "../deployments/prepare";
import { insertSplit } from "../deployments/split";
import { wake } from "../workers/registry";

/** How long a request waits for a decision. */
export const APPROVAL_TTL_MS = 7 * 24 * 3600 * 1000;
const METRICS_SHOWN = 50;

export type ApprovalDto = {
  id: string;
  status: ApprovalStatus;
  team: string;
  model: string;
  version: number;
  environment: string;
  spec: ApprovalSpec;
  note: string;
  requested_by: string;
  decided_by: string | null;
  comment: string | null;
  deployment_id: string | null;
  created_at: string;
  decided_at: string | null;
  expires_at: string;
};

export type ApprovalDetail = ApprovalDto & { evidence: ApprovalEvidence };

type Row = typeof approvalRequests.$inferSelect & { team: string };

const round2 = (n: number) => Math.round(n * 100) / 100;

/** A pending request past its deadline reads as expired at once; the approval-expiry worker records it so. */
function effectiveStatus(r: Row, now = new Date()): Row["status"] {
  return r.status === "pending" && r.expiresAt < now ? "expired" : r.status;
}

function dto(r: Row): ApprovalDto {
  const status = effectiveStatus(r);
  return {
    id: r.id, status, team: r.team, model: r.modelName, version: r.version, environment: r.environment, spec: r.spec, note: r.note,
    requested_by: r.requestedByEmail, decided_by: r.decidedByEmail, comment: r.comment, deployment_id: r.deploymentId,
    created_at: r.createdAt.toISOString(), decided_at: r.decidedAt?.toISOString() ?? (status === "expired" ? r.expiresAt.toISOString() : null), expires_at: r.expiresAt.toISOString(),
  };
}

async function runMetrics(db: DbOrTx, runId: string | null): Promise<Map<string, number>> {
  if (!runId) return new Map();
  const rows = await db.select({ key: latestMetrics.key, value: latestMetrics.value }).from(latestMetrics).where(eq(latestMetrics.runId, runId)).orderBy(asc(latestMetrics.key));
  return new Map(rows.map((r) => [r.key, r.value]));
}

async function runOf(db: DbOrTx, versionId: string): Promise<{ runId: string | null; runName: string | null; experimentId: string | null; format: string; digest: string | null }> {
  const [row] = await db
    .select({ runId: modelVersions.runId, runName: runs.name, experimentId: runs.experimentId, inspection: modelVersions.inspection, digest: modelVersions.contentDigest })
    .from(modelVersions)
    .leftJoin(runs, eq(runs.id, modelVersions.runId))
    .where(eq(modelVersions.id, versionId));
  return { runId: row?.runId ?? null, runName: row?.runName ?? null, experimentId: row?.experimentId === null || row?.experimentId === undefined ? null : String(row.experimentId), format: row?.inspection.format ?? "unknown", digest: row?.digest ?? null };
}

/** Candidate vs. what production holds now: metrics of both source runs and the monthly cost change. */
async function gatherEvidence(db: DbOrTx, d: PreparedDeploy): Promise<ApprovalEvidence> {
  const [candidateRun, [alias], [live], price] = await Promise.all([
    runOf(db, d.version.id),
    db.select({ version: modelAliases.version }).from(modelAliases).where(and(eq(modelAliases.modelId, d.model.id), eq(modelAliases.alias, DEFAULT_PROTECTED_ALIASES[0]!))),
    db.select({ id: deployments.id, version: deployments.version, replicas: deployments.replicas }).from(deployments)
      .where(and(eq(deployments.modelId, d.model.id), eq(deployments.environment, "production"), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))
      .orderBy(desc(deployments.createdAt)).limit(1),
    replicaPrice(db),
  ]);
  const currentVersion = live?.version ?? alias?.version ?? null;
  let current: ApprovalEvidence["current"] = null;
  let currentMetrics = new Map<string, number>();
  if (currentVersion !== null) {
    const [v] = await db.select({ id: modelVersions.id }).from(modelVersions).where(and(eq(modelVersions.modelId, d.model.id), eq(modelVersions.version, currentVersion)));
    const r = v ? await runOf(db, v.id) : { runId: null, runName: null };
    currentMetrics = await runMetrics(db, r.runId);
    current = { version: currentVersion, run_id: r.runId, run_name: r.runName, deployment_id: live?.id ?? null, replicas: live?.replicas ?? null };
  }
  const candidateMetrics = await runMetrics(db, candidateRun.runId);
  const keys = [...new Set([...candidateMetrics.keys(), ...currentMetrics.keys()])].sort().slice(0, METRICS_SHOWN);
  const metrics: MetricComparison[] = keys.map((key) => ({ key, candidate: candidateMetrics.get(key) ?? null, current: currentMetrics.get(key) ?? null }));
  const candidateMonthly = round2(d.replicas * price.hourly * HOURS_PER_MONTH);
  const currentMonthly = round2((live?.replicas ?? 0) * price.hourly * HOURS_PER_MONTH);
  return {
    candidate: { version: d.version.number, run_id: candidateRun.runId, run_name: candidateRun.runName, experiment_id: candidateRun.experimentId, format: candidateRun.format, content_digest: candidateRun.digest },
    current,
    metrics,
    cost: { replica_hourly_usd: price.hourly, priced_as: price.as, current_monthly_usd: currentMonthly, candidate_monthly_usd: candidateMonthly, monthly_change_usd: round2(candidateMonthly - currentMonthly) },
  };
}

/** A production deploy: recorded as a pending request with its evidence; nothing is deployed yet. */
export async function requestProductionDeploy(ctx: Ctx, d: PreparedDeploy, note: string, split?: SplitSpec): Promise<{ approval_request_id: string; status: "pending_approval" }> {
  // A split request: the candidate is compared with the baseline it would run beside, and the split itself is evidence.
  const evidence = { ...(await gatherEvidence(ctx.db, d)), ...(split ? { split } : {}) };
  const spec: ApprovalSpec = { replicas: d.replicas, auto_scale: d.autoScale, min_replicas: d.minReplicas, max_replicas: d.maxReplicas, target_concurrency: d.targetConcurrency, traffic: d.traffic, alias: d.alias, ...(split ? { split } : {}) };
  const now = new Date();
  const id = await ctx.db.transaction(async (tx) => {
    const [row] = await tx.insert(approvalRequests).values({
      teamId: d.team.id, modelId: d.model.id, versionId: d.version.id, modelName: d.model.name, version: d.version.number, environment: "production",
      spec, evidence, note, requestedBy: ctx.actor.userId, requestedByEmail: ctx.actor.email, createdAt: now, expiresAt: new Date(now.getTime() + APPROVAL_TTL_MS),
    }).returning({ id: approvalRequests.id });
    await appendAudit(tx, ctx, {
      action: split ? "approval.request_split" : "approval.request", target: `approval:${d.team.slug}/${row!.id}`, teamId: d.team.id, team: d.team.slug,
      details: { model: d.model.name, version: d.version.number, content_digest: evidence.candidate.content_digest, ...spec },
    });
    return row!.id;
  });
  return { approval_request_id: id, status: "pending_approval" };
}

async function rows(db: DbOrTx, where: ReturnType<typeof and>, limit = 500): Promise<Row[]> {
  const selected = await db.select({ a: approvalRequests, team: teams.slug }).from(approvalRequests).innerJoin(teams, eq(teams.id, approvalRequests.teamId))
    .where(where).orderBy(desc(approvalRequests.createdAt), desc(approvalRequests.id)).limit(limit);
  return selected.map((s) => ({ ...s.a, team: s.team }));
}

/**
 * Pending requests past their deadline become "expired" (the approval-expiry worker, server/workers). Reads never
 * write: until the worker passes, they show such a request as expired (effectiveStatus).
 */
export async function expireOverdueApprovals(db: DbOrTx, now = new Date()): Promise<number> {
  const expired = await db.update(approvalRequests).set({ status: "expired", decidedAt: sql`${approvalRequests.expiresAt}`, comment: "no decision before the request expired" })
    .where(and(eq(approvalRequests.status, "pending"), lt(approvalRequests.expiresAt, now)))
    .returning({ id: approvalRequests.id });
  return expired.length;
}

/** The status filter as requests read (a pending one past its deadline counts as expired). */
function statusIs(status: ApprovalDto["status"]) {
  if (status === "pending") return and(eq(approvalRequests.status, "pending"), sql`${approvalRequests.expiresAt} >= now()`);
  if (status === "expired") return or(eq(approvalRequests.status, "expired"), and(eq(approvalRequests.status, "pending"), sql`${approvalRequests.expiresAt} < now()`));
  return eq(approvalRequests.status, status);
}

export async function listApprovals(ctx: Ctx, input: Partial<ApprovalsQuery>): Promise<{ approvals: ApprovalDto[] }> {
  const teamIds = input.team ? [(await homeTeam(ctx, input.team)).id] : readableTeamIds(ctx.actor);
  if (teamIds?.length === 0) return { approvals: [] };
  const found = await rows(ctx.db, and(teamIds ? inArray(approvalRequests.teamId, teamIds) : undefined, input.status ? statusIs(input.status) : undefined), input.limit ?? 100);
  return { approvals: found.map(dto) };
}

async function loadApproval(ctx: Ctx, id: string, db: DbOrTx = ctx.db): Promise<Row> {
  const missing = `Approval request ${id} was not found.`;
  const [row] = UUID.test(id) ? await rows(db, eq(approvalRequests.id, id), 1) : [];
  if (!row) throw new AppError("not_found", missing);
  if (!can(ctx.actor, "read_data", row.teamId)) {
    throw await denied(ctx, { action: "approval.read", target: `approval:${id}`, teamId: row.teamId, team: row.team, mode: "read", message: missing });
  }
  return row;
}

export async function getApproval(ctx: Ctx, id: string): Promise<ApprovalDetail> {
  const row = await loadApproval(ctx, id);
  return { ...dto(row), evidence: row.evidence };
}

/** Refuses a request that is not pending, or pending past its deadline (checked again under the lock). */
function refuseUndecidable(row: { id: string; status: Row["status"]; expiresAt: Date }): void {
  if (row.status !== "pending") throw new AppError("conflict", `Approval request ${row.id} is already ${row.status}; only a pending request can be decided.`);
  if (row.expiresAt < new Date()) throw new AppError("conflict", `Approval request ${row.id} expired at ${row.expiresAt.toISOString()}; ask for the deploy again.`);
}

/** The request as it stands, locked for a decision; refuses anything but a pending, unexpired one. */
async function lockPending(tx: DbOrTx, row: Row): Promise<void> {
  const [now] = await tx.select({ status: approvalRequests.status, expiresAt: approvalRequests.expiresAt }).from(approvalRequests).where(eq(approvalRequests.id, row.id)).for("update");
  refuseUndecidable({ id: row.id, ...now! });
}

async function authorizeDecision(ctx: Ctx, row: Row, action: "approval.approve" | "approval.reject"): Promise<void> {
  const target = `approval:${row.team}/${row.id}`;
  if (!can(ctx.actor, "approve_production", row.teamId)) {
    throw await denied(ctx, { action, target, teamId: row.teamId, team: row.team, mode: "write", message: `Only team leads of ${row.team} (and admins) decide production deploys.` });
  }
  if (action === "approval.approve" && ctx.actor.userId !== null && row.requestedBy === ctx.actor.userId) {
    throw await denied(ctx, { action, target, teamId: row.teamId, team: row.team, mode: "write", message: "You asked for this deploy, so you cannot approve it: another team lead of the team must." });
  }
}

export async function approveRequest(ctx: Ctx, id: string, comment: string): Promise<ApprovalDetail> {
  const row = await loadApproval(ctx, id);
  await authorizeDecision(ctx, row, "approval.approve");
  refuseUndecidable(row);
  if (!row.versionId) throw new AppError("conflict", `Version ${row.version} of ${row.modelName} was deleted after the request; it cannot be deployed. Reject the request.`);
  // The decision is on the files the evidence names: the deploy serves only bytes with that digest.
  const digest = row.evidence.candidate.content_digest;
  if (!digest) throw new AppError("conflict", `Request ${row.id} was made before Cairn pinned versions' files, so its evidence names no content digest to deploy; reject it and ask for the deploy again.`);
  // Approving brings a new deployment up: past the team's block line nobody may (a lead passes the approval step).
  await checkBudget(ctx, { id: row.teamId, slug: row.team }, { action: "approval.approve", target: `approval:${row.team}/${row.id}` });
  const prepared: PreparedDeploy = {
    model: { id: row.modelId, name: row.modelName }, team: { id: row.teamId, slug: row.team }, version: { id: row.versionId, number: row.version },
    alias: row.spec.alias, environment: "production", replicas: row.spec.replicas, autoScale: row.spec.auto_scale,
    minReplicas: row.spec.min_replicas, maxReplicas: row.spec.max_replicas,
    targetConcurrency: row.spec.target_concurrency ?? DEFAULT_TARGET_CONCURRENCY, traffic: row.spec.traffic, backend: servingBackend(), origin: `approval ${row.id}`, contentDigest: digest,
  };
  await ctx.db.transaction(async (tx) => {
    await lockPending(tx, row);
    const by = { userId: row.requestedBy, email: row.requestedByEmail };
    const how = `approved by ${ctx.actor.email} (request ${row.id}, asked by ${row.requestedByEmail})`;
    // A split request starts exactly the split in its spec (and evidence): the candidate beside the baseline.
    const created = row.spec.split
      ? (await insertSplit(tx, ctx, { candidate: prepared, spec: row.spec.split, approvalId: row.id }, by, how)).candidateId
      : await insertDeployment(tx, ctx, prepared, by, how);
    await tx.update(approvalRequests).set({ status: "approved", decidedBy: ctx.actor.userId, decidedByEmail: ctx.actor.email, comment, decidedAt: new Date(), deploymentId: created }).where(eq(approvalRequests.id, row.id));
    await appendAudit(tx, ctx, { action: "approval.approve", target: `approval:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, details: { model: row.modelName, version: row.version, content_digest: digest, deployment_id: created, comment } });
    return created;
  });
  // The approved deployment is committed intent: the deployment reconciler (a worker) brings it up.
  wake("deployments");
  return getApproval(ctx, id);
}

export async function rejectRequest(ctx: Ctx, id: string, comment: string): Promise<ApprovalDetail> {
  const row = await loadApproval(ctx, id);
  await authorizeDecision(ctx, row, "approval.reject");
  await ctx.db.transaction(async (tx) => {
    await lockPending(tx, row);
    // After the state check: a request already decided answers 409 whatever the body says.
    if (!comment.trim()) {
      throw new AppError("invalid_input", "Give the reason for rejecting: the requester reads it, and it stays in the audit trail.", { fields: { comment: ["a reason is required to reject"] } });
    }
    await tx.update(approvalRequests).set({ status: "rejected", decidedBy: ctx.actor.userId, decidedByEmail: ctx.actor.email, comment, decidedAt: new Date() }).where(eq(approvalRequests.id, row.id));
    await appendAudit(tx, ctx, { action: "approval.reject", target: `approval:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, details: { model: row.modelName, version: row.version, comment } });
  });
  return getApproval(ctx, id);
}

/** The requester withdraws a pending request. */
export async function cancelRequest(ctx: Ctx, id: string): Promise<ApprovalDetail> {
  const row = await loadApproval(ctx, id);
  if (ctx.actor.userId === null || row.requestedBy !== ctx.actor.userId) {
    throw await denied(ctx, { action: "approval.cancel", target: `approval:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, mode: "write", message: `Only ${row.requestedByEmail}, who asked, can withdraw this request; team leads reject it instead.` });
  }
  await ctx.db.transaction(async (tx) => {
    await lockPending(tx, row);
    await tx.update(approvalRequests).set({ status: "cancelled", decidedAt: new Date(), comment: "withdrawn by the requester" }).where(eq(approvalRequests.id, row.id));
    await appendAudit(tx, ctx, { action: "approval.cancel", target: `approval:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, details: { model: row.modelName, version: row.version } });
  });
  return getApproval(ctx, id);
}

/** Pending requests the actor could decide (team lead, not their own): the inbox count. */
export async function pendingForActor(ctx: Ctx): Promise<number> {
  const teamIds = ctx.actor.isAdmin ? undefined : ctx.actor.memberships.filter((m) => can(ctx.actor, "approve_production", m.teamId)).map((m) => m.teamId);
  if (teamIds?.length === 0) return 0;
  const [{ n }] = (await ctx.db.select({ n: sql<number>`count(*)::int` }).from(approvalRequests).where(and(
    eq(approvalRequests.status, "pending"),
    teamIds ? inArray(approvalRequests.teamId, teamIds) : undefined,
    ctx.actor.userId ? or(isNull(approvalRequests.requestedBy), ne(approvalRequests.requestedBy, ctx.actor.userId)) : undefined,
    sql`${approvalRequests.expiresAt} > now()`,
  ))) as [{ n: number }];
  return n;
}

