// Deployments end to end on the local backend (routes under test live in app/): a registered ONNX version deployed to staging through
// the REST route, real replicas answering through the inference gateway (OIP v2 and MLflow's
// /invocations), stop, restart, quota, refusals for roles, formats and other teams, and the registry
// seeing where a model is deployed.
import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents, deploymentEvents, deployments, teamQuotas, teams } from "@/db/schema";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { GET as listRoute } from "@/app/api/v1/deployments/route";
import { DELETE as stopRoute, GET as getRoute } from "@/app/api/v1/deployments/[id]/route";
import { GET as serveGet, POST as servePost } from "@/app/serve/[team]/[deployment]/[...path]/route";
import { POST as approveRoute } from "@/app/api/v1/approvals/[id]/approve/route";
import { POST as rollbackRoute } from "@/app/api/v1/deployments/[id]/rollback/route";
import { archiveTeam } from "@/server/teams/admin";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { getModelDetail, listModels } from "@/server/registry/lineage";
import { deleteRegisteredModel } from "@/server/registry/models";
import { deleteModelVersion } from "@/server/registry/versions";
import { setAlias } from "@/server/registry/aliases";
import { MLMODEL, createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import type { RunAt } from "@/server/registry/test-helpers";
import { DEMO, call, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { tryInference } from "@/server/deployments/gateway";
import { deploymentRuntime, stopAllReplicas } from "@/server/deployments/runtime";
import type { DeploymentDto } from "@/server/deployments/service";
import { deployModel } from "@/server/approvals/deploy";
import { getDeploymentDetail, listDeployments, stopDeployment } from "@/server/deployments/service";
import { settleDeployments } from "@/server/workers/testing";

const db = demoDatabase();
const WEIGHTS = [0.5, -1, 2, 0.25];
const BIAS = [-0.1];
let ds = "";
let mle = "";
let fraud = "";
let fraudLead = "";
let onnxRun: RunAt;
let model = "";

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const expected = (row: number[]) => sigmoid(row.reduce((a, x, i) => a + x * WEIGHTS[i]!, 0) + BIAS[0]!);

async function deploy(token: string, name: string, body: Record<string, unknown>) {
  return call(deployRoute, { method: "POST", token, body, params: { name }, path: `/api/v1/models/${name}/deploy` });
}

async function ready(id: string): Promise<DeploymentDto> {
  await settleDeployments(db());
  return (await call(getRoute, { token: ds, params: { id } })).json as DeploymentDto;
}

function serve(token: string | undefined, team: string, id: string, path: string, init: { method?: string; body?: unknown } = {}) {
  const handler = (init.method ?? "GET") === "GET" ? serveGet : servePost;
  return call(handler as never, { method: init.method ?? "GET", token, body: init.body, params: { team, deployment: id, path: path.split("/") }, path: `/serve/${team}/${id}/${path}` });
}

beforeAll(async () => {
  [ds, mle, fraud, fraudLead] = await Promise.all([
    tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud"), tokenFor(db(), DEMO.leadFraud, "fraud"),
  ]);
  onnxRun = await newRun(ds, "deploy");
  await putRunFile(ds, onnxRun, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights: WEIGHTS, bias: BIAS })));
  model = unique("deploy-model");
  await createModel(ds, model);
  await registerVersion(ds, model, onnxRun); // v1: ONNX
  const sklearnRun = await newRun(ds, "deploy-sk");
  await putRunFile(ds, sklearnRun, "model/MLmodel", MLMODEL);
  await registerVersion(ds, model, sklearnRun); // v2: sklearn only
});

afterAll(async () => {
  await stopAllReplicas();
});

describe("staging deploy through the gateway", () => {
  let id = "";

  it("deploys an ONNX version: 201, deploying, then ready with every replica serving", async () => {
    const res = await deploy(ds, model, { version: 1, environment: "staging", replicas: 2, auto_scale: false });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const body = res.json as { deployment_id: string; endpoint: string; status: string };
    expect(body.status).toBe("deploying");
    expect(body.endpoint).toBe(`/serve/churn/${body.deployment_id}`);
    id = body.deployment_id;
    const d = await ready(id);
    expect(d).toMatchObject({ status: "ready", replicas: 2, ready_replicas: 2, model, version: 1, environment: "staging", team: "churn", created_by: DEMO.ds, auto_scale: false, min_replicas: 2, max_replicas: 2 });
    const [audit] = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "deployment.create"), eq(auditEvents.target, `deployment:churn/${id}`)));
    expect(audit?.details).toMatchObject({ model, version: 1, environment: "staging", replicas: 2 });
  });

  it("answers Open Inference Protocol v2 with the model's own probabilities", async () => {
    const rows = [[1, 2, 3, 4], [0, 0, 0, 0]];
    const res = await serve(ds, "churn", id, `v2/models/${model}/infer`, { method: "POST", body: { id: "req-1", inputs: [{ name: "features", shape: [2, 4], datatype: "FP32", data: rows.flat() }] } });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const out = (res.json as { model_name: string; outputs: { name: string; shape: number[]; data: number[] }[] });
    expect(out.model_name).toBe(model);
    expect(out.outputs[0]!.shape).toEqual([2, 2]);
    rows.forEach((row, i) => {
      expect(out.outputs[0]!.data[i * 2 + 1]).toBeCloseTo(expected(row), 5);
      expect(out.outputs[0]!.data[i * 2]).toBeCloseTo(1 - expected(row), 5);
    });
  });

  it("answers MLflow's /invocations and the model metadata", async () => {
    const inv = await serve(mle, "churn", id, "invocations", { method: "POST", body: { dataframe_split: { columns: ["a", "b", "c", "d"], data: [[1, 0, 0, 1]] } } });
    expect(inv.status, JSON.stringify(inv.json)).toBe(200);
    expect((inv.json as { predictions: number[][] }).predictions[0]![1]).toBeCloseTo(expected([1, 0, 0, 1]), 5);
    const meta = await serve(ds, "churn", id, `v2/models/${model}`);
    expect(meta.status).toBe(200);
    expect(meta.json).toMatchObject({ name: model, inputs: [{ name: "features", shape: [-1, 4] }] });
  });

  it("tells a caller what was wrong and keeps serving", async () => {
    const bad = await serve(ds, "churn", id, "invocations", { method: "POST", body: { inputs: [[1, 2, 3]] } });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: string }).error).toMatch(/4/);
    expect((await serve(ds, "churn", id, "invocations", { method: "POST", body: { inputs: [[1, 2, 3, 4]] } })).status).toBe(200);
  });

  it("refuses callers without a token, other teams, other models and other paths", async () => {
    const none = await serve(undefined, "churn", id, `v2/models/${model}/infer`, { method: "POST", body: {} });
    expect(none.status).toBe(401);
    expect(none.response.headers.get("www-authenticate")).toBe("Bearer");
    const foreign = await serve(fraud, "churn", id, `v2/models/${model}/infer`, { method: "POST", body: {} });
    expect(foreign.status).toBe(404);
    expect((await serve(fraud, "fraud", id, `v2/models/${model}`)).status).toBe(404);
    expect((await serve(ds, "fraud", id, `v2/models/${model}`)).status).toBe(404);
    const otherModel = await serve(ds, "churn", id, "v2/models/someone-else/infer", { method: "POST", body: {} });
    expect(otherModel.status).toBe(404);
    expect((otherModel.json as { error: string }).error).toContain(model);
    expect((await serve(ds, "churn", id, "v1/models/x:predict", { method: "POST", body: {} })).status).toBe(404);
    // The model server's own extra surface stays behind the gateway: only the listed endpoints pass.
    for (const path of ["v2", "ping", "health", `v2/models/${model}/versions/1/infer`, `v2/models/${model}/infer/extra`, "invocations/x", "v2/health"]) {
      expect((await serve(ds, "churn", id, path, { method: "POST", body: {} })).status, path).toBe(404);
    }
    // An encoded slash is one segment, not a path: it names no model this deployment serves.
    expect((await serve(ds, "churn", id, `v2/models/${model}%2Finfer`, { method: "POST", body: {} })).status).toBe(404);
    expect((await serve(ds, "churn", id, `v2/models/${model}/infer`)).status).toBe(405);
    expect((await serve(ds, "churn", "not-a-uuid", "invocations", { method: "POST", body: {} })).status).toBe(404);
  });

  it("hides the deployment from another team's reads and refuses their stop", async () => {
    expect((await call(getRoute, { token: fraud, params: { id } })).status).toBe(404);
    expect((await call(stopRoute, { method: "DELETE", token: fraudLead, params: { id } })).status).toBe(404);
    const theirs = (await call(listRoute, { token: fraudLead })).json as { deployments: DeploymentDto[] };
    expect(theirs.deployments.map((d) => d.deployment_id)).not.toContain(id);
    const ours = (await call(listRoute, { token: ds, path: "/api/v1/deployments?environment=staging" })).json as { deployments: DeploymentDto[] };
    expect(ours.deployments.map((d) => d.deployment_id)).toContain(id);
    await expect(tryInference(await ctxFor(db(), DEMO.dsFraud), id, "invocations", "{}")).rejects.toMatchObject({ code: "not_found" });
  });

  it("shows in the registry where the model is deployed, and keeps a deployed model from deletion", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const listed = (await listModels(ctx, { q: model })).models.find((m) => m.name === model);
    expect(listed?.deployed).toEqual([{ deployment_id: id, environment: "staging", version: 1, status: "ready" }]);
    expect((await getModelDetail(ctx, model)).deployed.map((d) => d.deployment_id)).toEqual([id]);
    const lead = await ctxFor(db(), DEMO.lead);
    await expect(deleteRegisteredModel(lead, model)).rejects.toMatchObject({ code: "conflict", message: expect.stringContaining(id) });
    await expect(deleteModelVersion(lead, model, 1)).rejects.toMatchObject({ code: "conflict" });
  });

  it("the try-it panel reaches the same replicas for a member", async () => {
    const r = await tryInference(await ctxFor(db(), DEMO.ds), id, "infer", JSON.stringify({ inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] }));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).outputs[0].data[1]).toBeCloseTo(expected([1, 2, 3, 4]), 5);
  });

  it("comes back after a restart of the serving side", async () => {
    await stopAllReplicas();
    expect(deploymentRuntime().pick(id)).toBeNull();
    expect((await serve(ds, "churn", id, "invocations", { method: "POST", body: { inputs: [[1, 2, 3, 4]] } })).status).toBe(503);
    // A new leader's reconciler brings every live deployment up again.
    await settleDeployments(db());
    expect((await ready(id)).ready_replicas).toBe(2);
    expect((await serve(ds, "churn", id, "invocations", { method: "POST", body: { inputs: [[1, 2, 3, 4]] } })).status).toBe(200);
  });

  it("has nothing to roll back to while it is the model's only version in staging", async () => {
    const res = await call(rollbackRoute, { method: "POST", token: ds, params: { id } });
    expect(res.status).toBe(409);
    expect(JSON.stringify(res.json)).toMatch(/Nothing to roll back to/);
  });

  it("stops: 204, replicas gone, the endpoint answers 410, the record and its events stay", async () => {
    const res = await call(stopRoute, { method: "DELETE", token: ds, params: { id } });
    expect(res.status).toBe(204);
    const d = (await call(getRoute, { token: ds, params: { id } })).json as DeploymentDto;
    expect(d).toMatchObject({ status: "stopped", ready_replicas: null });
    expect(d.stopped_at).not.toBeNull();
    // The stop is committed; the reconciler ends the replicas (after a short drain).
    await settleDeployments(db());
    expect(deploymentRuntime().pick(id)).toBeNull();
    expect((await serve(ds, "churn", id, "invocations", { method: "POST", body: { inputs: [[1, 2, 3, 4]] } })).status).toBe(410);
    const detail = await getDeploymentDetail(await ctxFor(db(), DEMO.ds), id);
    expect(detail.events.map((e) => e.status)).toEqual(["stopped", "ready", "deploying"]);
    expect((await call(stopRoute, { method: "DELETE", token: ds, params: { id } })).status).toBe(204); // idempotent
    expect(await db().select({ n: count() }).from(auditEvents).where(and(eq(auditEvents.action, "deployment.stop"), eq(auditEvents.target, `deployment:churn/${id}`)))).toEqual([{ n: 1 }]);
  });
});

describe("what a deploy refuses", () => {
  it("production: a data scientist is forbidden; an ML engineer's request waits for approval (202)", async () => {
    const denied = await deploy(ds, model, { version: 1, environment: "production" });
    expect(denied.status).toBe(403);
    const pending = await deploy(mle, model, { version: 1, environment: "production", note: "ready for prod" });
    expect(pending.status, JSON.stringify(pending.json)).toBe(202);
    expect(pending.json).toMatchObject({ approval_request_id: expect.any(String), status: "pending_approval" });
  });

  it("a version that is not ONNX, a missing alias, an unknown model, bad bounds", async () => {
    const sk = await deploy(ds, model, { version: 2, environment: "staging" });
    expect(sk.status).toBe(400);
    expect(JSON.stringify(sk.json)).toMatch(/not an ONNX model \(format: sklearn\)/);
    expect((await deploy(ds, model, { alias: "nope", environment: "staging" })).status).toBe(404);
    expect((await deploy(ds, "no-such-model", { environment: "staging" })).status).toBe(404);
    const fixed = await deploy(ds, model, { version: 1, environment: "staging", auto_scale: false, max_replicas: 3 });
    expect(fixed.status).toBe(400);
    expect(JSON.stringify(fixed.json)).toMatch(/auto_scale false/);
    const bounds = await deploy(ds, model, { version: 1, environment: "staging", replicas: 5, min_replicas: 1, max_replicas: 3 });
    expect(bounds.status).toBe(400);
    expect(JSON.stringify(bounds.json)).toMatch(/replicas \(5\) must lie between/);
    expect((await deploy(ds, model, { version: 1, environment: "qa" })).status).toBe(400);
    expect((await deploy(fraud, model, { version: 1, environment: "staging" })).status).toBe(404);
  });

  it("nothing is created by a refused deploy", async () => {
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const before = await db().select({ n: count() }).from(deployments).where(eq(deployments.teamId, churn!.id));
    await deploy(ds, model, { version: 2, environment: "staging" });
    await deploy(ds, model, { version: 1, environment: "production" });
    await deploy(mle, model, { version: 1, environment: "production" }); // a request, not a deployment
    expect(await db().select({ n: count() }).from(deployments).where(eq(deployments.teamId, churn!.id))).toEqual(before);
  });

  it("deploys by alias (resolved to its version) and the newest version by default", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    await setAlias(ctx, { name: model, alias: "champion", version: 1 });
    const byAlias = await deployModel(ctx, model, { alias: "champion", environment: "staging", replicas: 1, auto_scale: true, traffic: 100 });
    const d = (await listDeployments(ctx, { model })).deployments.find((x) => x.deployment_id === byAlias.deployment_id)!;
    expect(d).toMatchObject({ version: 1, alias: "champion", auto_scale: true, min_replicas: 1, max_replicas: 10 });
    await settleDeployments(db());
    await stopDeployment(ctx, byAlias.deployment_id);
    // The newest version (v2) is sklearn: deploying "the latest" says so rather than picking an older one.
    await expect(deployModel(ctx, model, { environment: "staging", replicas: 1, auto_scale: false, traffic: 100 })).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("Version 2") });
  });

  it("the team's deployment quota: refused at the limit, with what to do", async () => {
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const live = (await listDeployments(await ctxFor(db(), DEMO.ds), { team: "churn" })).deployments.filter((d) => ["deploying", "ready"].includes(d.status)).length;
    await db().update(teamQuotas).set({ maxDeployments: live }).where(eq(teamQuotas.teamId, churn!.id));
    try {
      const res = await deploy(ds, model, { version: 1, environment: "staging", replicas: 1 });
      expect(res.status).toBe(409);
      expect(JSON.stringify(res.json)).toMatch(/max_deployments/);
    } finally {
      await db().update(teamQuotas).set({ maxDeployments: 10 }).where(eq(teamQuotas.teamId, churn!.id));
    }
  });
});

describe("who may stop what, and what holds under concurrency", () => {
  it("a data scientist cannot stop a production deployment; an ML engineer can", async () => {
    const asked = await deploy(mle, model, { version: 1, environment: "production", replicas: 1, auto_scale: false });
    const lead = await tokenFor(db(), DEMO.lead, "churn");
    const approved = await call(approveRoute, { method: "POST", token: lead, params: { id: (asked.json as { approval_request_id: string }).approval_request_id }, body: { comment: "" } });
    const id = (approved.json as { deployment_id: string }).deployment_id;
    expect((await ready(id)).status).toBe("ready");
    const refused = await call(stopRoute, { method: "DELETE", token: ds, params: { id } });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.json)).toMatch(/deploy_production/);
    expect((await call(stopRoute, { method: "DELETE", token: mle, params: { id } })).status).toBe(204);
  });

  it("parallel deploys never overshoot the team's deployment quota", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const live = (await listDeployments(ctx, { team: "churn" })).deployments.filter((d) => ["deploying", "ready"].includes(d.status)).length;
    await db().update(teamQuotas).set({ maxDeployments: live + 1 }).where(eq(teamQuotas.teamId, churn!.id));
    try {
      const answers = await Promise.all(Array.from({ length: 4 }, () => deploy(ds, model, { version: 1, environment: "staging", replicas: 1, auto_scale: false })));
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
      const made = answers.find((a) => a.status === 201)!.json as { deployment_id: string };
      await settleDeployments(db());
      await stopDeployment(ctx, made.deployment_id);
    } finally {
      await db().update(teamQuotas).set({ maxDeployments: 10 }).where(eq(teamQuotas.teamId, churn!.id));
    }
  });

  it("the host's replica cap counts every team's live replicas", async () => {
    const [fraudTeam] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "fraud"));
    const [someModel] = await db().select({ id: deployments.modelId }).from(deployments).limit(1);
    // Another team's replicas (a record only: the cap is checked against what the database says runs).
    const [big] = await db().insert(deployments).values({ teamId: fraudTeam!.id, modelId: someModel!.id, modelName: "elsewhere", version: 1, environment: "staging", status: "ready", replicas: 31, autoScale: false, minReplicas: 31, maxReplicas: 31, createdByEmail: "test" }).returning({ id: deployments.id });
    try {
      const res = await deploy(ds, model, { version: 1, environment: "staging", replicas: 2, auto_scale: false });
      expect(res.status).toBe(409);
      expect(JSON.stringify(res.json)).toMatch(/CAIRN_LOCAL_REPLICAS_MAX/);
    } finally {
      await db().delete(deployments).where(eq(deployments.id, big!.id));
    }
  });

  it("a deploy racing the deletion of its version: one of them wins, cleanly", async () => {
    const ctx = await ctxFor(db(), DEMO.lead);
    for (let i = 0; i < 3; i++) {
      const at = await newRun(ds, "race");
      await putRunFile(ds, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights: WEIGHTS, bias: BIAS })));
      const name = unique("deploy-race");
      await createModel(ds, name);
      await registerVersion(ds, name, at);
      const [deployed, deleted] = await Promise.allSettled([deploy(ds, name, { version: 1, environment: "staging", replicas: 1, auto_scale: false }), deleteModelVersion(ctx, name, 1)]);
      const status = deployed.status === "fulfilled" ? deployed.value.status : 500;
      if (status === 201) {
        expect(deleted.status).toBe("rejected");
        expect((deleted as PromiseRejectedResult).reason).toMatchObject({ code: "conflict" });
        const id = ((deployed as PromiseFulfilledResult<{ json: unknown }>).value.json as { deployment_id: string }).deployment_id;
        await settleDeployments(db());
        await stopDeployment(await ctxFor(db(), DEMO.ds), id);
      } else {
        expect(deleted.status).toBe("fulfilled");
        expect([404, 409]).toContain(status);
      }
    }
  });

  it("a team with live deployments cannot be archived", async () => {
    const res = await deploy(ds, model, { version: 1, environment: "staging", replicas: 1, auto_scale: false });
    const id = (res.json as { deployment_id: string }).deployment_id;
    await expect(archiveTeam(await ctxFor(db(), DEMO.admin), "churn")).rejects.toMatchObject({ code: "conflict", message: expect.stringContaining("live deployment") });
    await settleDeployments(db());
    await stopDeployment(await ctxFor(db(), DEMO.ds), id);
  });
});

describe("a model the runtime cannot load", () => {
  it("fails the deployment with the loader's reason and serves nothing", async () => {
    const at = await newRun(ds, "deploy-bad");
    // A graph that parses (so the registry calls it ONNX) but names an operator no runtime has.
    const bytes = linearClassifierOnnx({ features: 2, classes: 3, weights: [1, 2, 3, 4, 5, 6], bias: [0, 0, 0] });
    const broken = Buffer.from(bytes).toString("latin1").replaceAll("Softmax", "Softmix");
    await putRunFile(ds, at, "model/model.onnx", new Uint8Array(Buffer.from(broken, "latin1")));
    const name = unique("deploy-broken");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    const res = await deploy(ds, name, { version: 1, environment: "staging", replicas: 1 });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const id = (res.json as { deployment_id: string }).deployment_id;
    const d = await ready(id);
    expect(d.status).toBe("failed");
    expect(d.message).toMatch(/Softmix|load/i);
    expect((await serve(ds, "churn", id, "invocations", { method: "POST", body: { inputs: [[1, 2]] } })).status).toBe(503);
    const events = await db().select().from(deploymentEvents).where(eq(deploymentEvents.deploymentId, id));
    expect(events.map((e) => e.status).sort()).toEqual(["deploying", "failed"]);
  });
});
