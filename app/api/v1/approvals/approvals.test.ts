// Production approvals through the REST routes: a request with its evidence (candidate vs. production
// metrics, monthly cost change), decisions by team leads only and never by the requester, the
// production deployment and the protected alias that an approval moves, the replaced deployment
// stopping, reject / withdraw / expiry / quota, and other teams seeing nothing.
import { and, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalRequests, auditEvents, deployments, modelAliasEvents, modelAliases, registeredModels, teamQuotas, teams } from "@/db/schema";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { GET as listRoute } from "@/app/api/v1/approvals/route";
import { GET as getRoute } from "@/app/api/v1/approvals/[id]/route";
import { POST as approveRoute } from "@/app/api/v1/approvals/[id]/approve/route";
import { POST as rejectRoute } from "@/app/api/v1/approvals/[id]/reject/route";
import { POST as cancelRoute } from "@/app/api/v1/approvals/[id]/cancel/route";
import { POST as rollbackRoute } from "@/app/api/v1/deployments/[id]/rollback/route";
import type { ApprovalDetail, ApprovalDto } from "@/server/approvals/service";
import { pendingForActor } from "@/server/approvals/service";
import { deploymentRuntime, stopAllReplicas } from "@/server/deployments/runtime";
import { post } from "@/server/mlflow/test-client";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import type { RunAt } from "@/server/registry/test-helpers";
import { DEMO, call, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { settleDeployments } from "@/server/workers/testing";
import { flushDenials } from "@/server/audit/denials";

const db = demoDatabase();
let ds = "";
let mle = "";
let lead = "";
let admin = "";
let fraudLead = "";
let model = "";
let modelId = "";

async function onnxRunWith(token: string, metrics: Record<string, number>): Promise<RunAt> {
  const at = await newRun(token, "approve");
  await putRunFile(token, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 3, classes: 2, weights: [1, -1, 0.5], bias: [0] })));
  const logged = await post(token, "runs/log-batch", { run_id: at.run, metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: Date.now(), step: 0 })) });
  if (logged.status !== 200) throw new Error(`log-batch: ${logged.status} ${logged.text}`);
  return at;
}

const request = (token: string, version: number, extra: Record<string, unknown> = {}) =>
  call(deployRoute, { method: "POST", token, params: { name: model }, body: { version, environment: "production", replicas: 1, auto_scale: false, ...extra } });
const decide = (route: typeof approveRoute, token: string, id: string, comment = "") => call(route, { method: "POST", token, params: { id }, body: { comment } });
const detail = async (token: string, id: string) => (await call(getRoute, { token, params: { id } })).json as ApprovalDetail;

async function requestId(token: string, version: number, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await request(token, version, extra);
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  return (res.json as { approval_request_id: string }).approval_request_id;
}

beforeAll(async () => {
  [ds, mle, lead, admin, fraudLead] = await Promise.all([
    tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.lead, "churn"), tokenFor(db(), DEMO.admin, "churn"), tokenFor(db(), DEMO.leadFraud, "fraud"),
  ]);
  model = unique("approve-model");
  await createModel(ds, model);
  await registerVersion(ds, model, await onnxRunWith(ds, { auc: 0.81, val_loss: 0.42 })); // v1
  await registerVersion(ds, model, await onnxRunWith(ds, { auc: 0.86, val_loss: 0.37, f1: 0.7 })); // v2
  const [row] = await db().select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.name, model));
  modelId = row!.id;
});

afterAll(async () => {
  await stopAllReplicas();
});

describe("a production request and its approval", () => {
  let first = "";

  it("records the request with its evidence; nothing is deployed yet", async () => {
    first = await requestId(mle, 1, { replicas: 2, note: "AUC 0.81 on the holdout" });
    const a = await detail(mle, first);
    expect(a).toMatchObject({ status: "pending", team: "churn", model, version: 1, environment: "production", requested_by: DEMO.mle, decided_by: null, note: "AUC 0.81 on the holdout", spec: { replicas: 2, auto_scale: false, traffic: 100 } });
    expect(new Date(a.expires_at).getTime() - new Date(a.created_at).getTime()).toBe(7 * 24 * 3600 * 1000);
    expect(a.evidence.current).toBeNull();
    expect(a.evidence.metrics).toEqual([{ key: "auc", candidate: 0.81, current: null }, { key: "val_loss", candidate: 0.42, current: null }]);
    // Two replicas priced as cpu.small ($0.10/h) for 730 hours.
    expect(a.evidence.cost).toEqual({ replica_hourly_usd: 0.1, priced_as: "cpu.small", current_monthly_usd: 0, candidate_monthly_usd: 146, monthly_change_usd: 146 });
    expect(await db().select().from(deployments).where(eq(deployments.modelId, modelId))).toEqual([]);
    expect(await pendingForActor(await ctxFor(db(), DEMO.lead))).toBeGreaterThanOrEqual(1);
    expect(await pendingForActor(await ctxFor(db(), DEMO.mle))).toBe(0);
  });

  it("is decided by a team lead only, never by the requester, and hidden from other teams", async () => {
    const own = await decide(approveRoute, mle, first);
    expect(own.status).toBe(403);
    expect(JSON.stringify(own.json)).toMatch(/Only team leads of churn/);
    expect((await decide(approveRoute, ds, first)).status).toBe(403);
    expect((await decide(rejectRoute, ds, first)).status).toBe(403);
    expect((await decide(approveRoute, fraudLead, first)).status).toBe(404);
    expect((await call(getRoute, { token: fraudLead, params: { id: first } })).status).toBe(404);
    const theirs = (await call(listRoute, { token: fraudLead })).json as { approvals: ApprovalDto[] };
    expect(theirs.approvals.map((a) => a.id)).not.toContain(first);
    expect((await detail(lead, first)).status).toBe("pending");
    await flushDenials(db());
    const denials = await db().select().from(auditEvents).where(and(eq(auditEvents.target, `approval:churn/${first}`), eq(auditEvents.outcome, "denied")));
    expect(denials.length).toBeGreaterThanOrEqual(3);
  });

  it("approving starts the production deployment and moves the protected production alias", async () => {
    const res = await decide(approveRoute, lead, first, "metrics look right");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const a = res.json as ApprovalDetail;
    expect(a).toMatchObject({ status: "approved", decided_by: DEMO.lead, comment: "metrics look right", deployment_id: expect.any(String) });
    // The approval is committed intent: nothing serves until the workers carry it out.
    const [committed] = await db().select({ status: deployments.status }).from(deployments).where(eq(deployments.id, a.deployment_id!));
    expect(committed!.status).toBe("deploying");
    expect(deploymentRuntime().pick(a.deployment_id!)).toBeNull();
    await settleDeployments(db());
    const [d] = await db().select().from(deployments).where(eq(deployments.id, a.deployment_id!));
    expect(d).toMatchObject({ environment: "production", version: 1, status: "ready", replicas: 2, createdByEmail: DEMO.mle });
    const moves = await db().select().from(modelAliasEvents).where(and(eq(modelAliasEvents.modelId, modelId), eq(modelAliasEvents.alias, "production")));
    expect(moves).toMatchObject([{ fromVersion: null, toVersion: 1, via: `approval ${first}` }]);
    await flushDenials(db());
    const actions = (await db().select({ action: auditEvents.action }).from(auditEvents).where(eq(auditEvents.teamId, d!.teamId))).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["approval.request", "approval.approve", "deployment.create", "model_alias.set"]));
    // The alias moved by the promotion worker, as the approving lead's decision (not "system").
    await flushDenials(db());
    const [move] = await db().select({ actor: auditEvents.actor, actorType: auditEvents.actorType, details: auditEvents.details }).from(auditEvents)
      .where(and(eq(auditEvents.action, "model_alias.set"), eq(auditEvents.teamId, d!.teamId))).orderBy(desc(auditEvents.id)).limit(1);
    expect(move).toMatchObject({ actor: DEMO.lead, actorType: "user", details: { to: 1, via: `approval ${first}`, carried_out_by: "production promotion (worker)" } });
  });

  it("a decided request cannot be decided again (409)", async () => {
    expect((await decide(approveRoute, admin, first)).status).toBe(409);
    expect((await decide(rejectRoute, lead, first)).status).toBe(409);
    expect((await call(cancelRoute, { method: "POST", token: mle, params: { id: first } })).status).toBe(409);
  });

  it("the next version replaces it: evidence against production, the old deployment stops once the new one serves", async () => {
    const second = await requestId(lead, 2, { replicas: 3 });
    const a = await detail(lead, second);
    expect(a.evidence.current).toMatchObject({ version: 1, replicas: 2, deployment_id: expect.any(String) });
    expect(a.evidence.metrics).toEqual([
      { key: "auc", candidate: 0.86, current: 0.81 },
      { key: "f1", candidate: 0.7, current: null },
      { key: "val_loss", candidate: 0.37, current: 0.42 },
    ]);
    expect(a.evidence.cost).toMatchObject({ current_monthly_usd: 146, candidate_monthly_usd: 219, monthly_change_usd: 73 });
    const own = await decide(approveRoute, lead, second);
    expect(own.status).toBe(403);
    expect(JSON.stringify(own.json)).toMatch(/you cannot approve it: another team lead/);
    const approved = (await decide(approveRoute, admin, second, "ok")).json as ApprovalDetail;
    await settleDeployments(db());
    const live = await db().select({ id: deployments.id, version: deployments.version, status: deployments.status, message: deployments.message }).from(deployments).where(eq(deployments.modelId, modelId));
    const old = live.find((d) => d.version === 1)!;
    expect(old).toMatchObject({ status: "stopped", message: `replaced by deployment ${approved.deployment_id} (version 2)` });
    expect(live.find((d) => d.version === 2)).toMatchObject({ status: "ready" });
    expect(deploymentRuntime().pick(old.id)).toBeNull();
  });
});

describe("rolling production back", () => {
  it("serves the version that ran before again, moves the alias back, and stops the current deployment once it serves", async () => {
    const [current] = await db().select().from(deployments).where(and(eq(deployments.modelId, modelId), eq(deployments.environment, "production"), eq(deployments.status, "ready")));
    expect(current!.version).toBe(2);
    expect((await call(rollbackRoute, { method: "POST", token: ds, params: { id: current!.id } })).status).toBe(403);
    expect((await call(rollbackRoute, { method: "POST", token: fraudLead, params: { id: current!.id } })).status).toBe(404);
    const res = await call(rollbackRoute, { method: "POST", token: mle, params: { id: current!.id } });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    // The request commits the rollback (a deployment of v1, "deploying"); the workers bring it up and switch.
    expect(res.json).toMatchObject({ version: 1, environment: "production", status: "deploying", created_by: DEMO.mle });
    await settleDeployments(db());
    const [back] = await db().select({ status: deployments.status }).from(deployments).where(eq(deployments.id, (res.json as { deployment_id: string }).deployment_id));
    expect(back!.status).toBe("ready");
    const [after] = await db().select({ status: deployments.status, message: deployments.message }).from(deployments).where(eq(deployments.id, current!.id));
    expect(after).toMatchObject({ status: "stopped", message: expect.stringContaining("replaced by deployment") });
    const [alias] = await db().select({ version: modelAliases.version }).from(modelAliases).where(and(eq(modelAliases.modelId, modelId), eq(modelAliases.alias, "production")));
    expect(alias!.version).toBe(1);
    const [move] = await db().select().from(modelAliasEvents).where(and(eq(modelAliasEvents.modelId, modelId), eq(modelAliasEvents.via, `rollback ${current!.id}`)));
    expect(move).toMatchObject({ fromVersion: 2, toVersion: 1 });
    const stopped = await call(rollbackRoute, { method: "POST", token: mle, params: { id: current!.id } });
    expect(stopped.status).toBe(409);
  });
});

describe("requests that do not deploy", () => {
  it("rejected: with the lead's comment, nothing deployed", async () => {
    const id = await requestId(mle, 1);
    const before = (await db().select().from(deployments).where(eq(deployments.modelId, modelId))).length;
    // A rejection without a reason is refused, and the request stays pending.
    const bare = await decide(rejectRoute, lead, id, "   ");
    expect(bare.status).toBe(400);
    expect(bare.json).toMatchObject({ error: { code: "invalid_input", fields: { comment: ["a reason is required to reject"] } } });
    expect((await detail(lead, id)).status).toBe("pending");
    const res = await decide(rejectRoute, lead, id, "v1 regresses AUC");
    expect(res.json).toMatchObject({ status: "rejected", decided_by: DEMO.lead, comment: "v1 regresses AUC", deployment_id: null });
    expect((await db().select().from(deployments).where(eq(deployments.modelId, modelId))).length).toBe(before);
    expect((await decide(approveRoute, lead, id)).status).toBe(409);
  });

  it("withdrawn by the requester only", async () => {
    const id = await requestId(mle, 1);
    expect((await call(cancelRoute, { method: "POST", token: ds, params: { id } })).status).toBe(403);
    expect((await call(cancelRoute, { method: "POST", token: lead, params: { id } })).status).toBe(403);
    expect((await call(cancelRoute, { method: "POST", token: mle, params: { id } })).json).toMatchObject({ status: "cancelled" });
    expect((await decide(approveRoute, lead, id)).status).toBe(409);
  });

  it("expired: past its deadline it cannot be approved", async () => {
    const id = await requestId(mle, 1);
    await db().update(approvalRequests).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(approvalRequests.id, id));
    const res = await decide(approveRoute, lead, id);
    expect(res.status).toBe(409);
    expect(JSON.stringify(res.json)).toMatch(/expired/);
    expect((await detail(lead, id)).status).toBe("expired");
    const pending = (await call(listRoute, { token: lead, path: "/api/v1/approvals?status=pending" })).json as { approvals: ApprovalDto[] };
    expect(pending.approvals.every((a) => a.status === "pending")).toBe(true);
    expect(pending.approvals.map((a) => a.id)).not.toContain(id);
  });

  it("over the deployment quota: the approval is refused and the request stays pending", async () => {
    const id = await requestId(mle, 1);
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const live = (await db().select().from(deployments).where(and(eq(deployments.teamId, churn!.id), eq(deployments.status, "ready")))).length;
    await db().update(teamQuotas).set({ maxDeployments: live }).where(eq(teamQuotas.teamId, churn!.id));
    try {
      const res = await decide(approveRoute, lead, id);
      expect(res.status).toBe(409);
      expect(JSON.stringify(res.json)).toMatch(/max_deployments/);
      expect((await detail(lead, id)).status).toBe("pending");
    } finally {
      await db().update(teamQuotas).set({ maxDeployments: 10 }).where(eq(teamQuotas.teamId, churn!.id));
    }
  });

  it("bad input changes nothing: a note on staging, an unknown request", async () => {
    const staging = await call(deployRoute, { method: "POST", token: mle, params: { name: model }, body: { version: 1, environment: "staging", note: "x" } });
    expect(staging.status).toBe(400);
    expect((await call(getRoute, { token: lead, params: { id: "00000000-0000-4000-8000-000000000000" } })).status).toBe(404);
    expect((await call(approveRoute, { method: "POST", token: lead, params: { id: "nope" }, body: {} })).status).toBe(404);
    expect((await call(approveRoute, { method: "POST", token: lead, params: { id: "00000000-0000-4000-8000-000000000000" }, body: { comment: 5 } })).status).toBe(400);
  });
});
