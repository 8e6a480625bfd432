// Stable endpoints through the gateway route: /serve/<team>/<model>/<environment>/… reaches whichever
// deployment serves that environment now (staging: the one that began serving last), with the model name
// percent-encoded; a model named like a deployment's UUID stays apart from that deployment's own address;
// another team's token gets the same 404 as a model that does not exist (and an audit row); nothing
// serving answers 503 with what to do. Real replicas answer (two versions with different weights).
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents, deployments, registeredModels } from "@/db/schema";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { GET as getRoute } from "@/app/api/v1/deployments/[id]/route";
import { GET as serveGet, POST as servePost } from "@/app/serve/[team]/[deployment]/[...path]/route";
import { serveAddress } from "@/server/deployments/endpoints";
import { stopAllReplicas } from "@/server/deployments/runtime";
import type { DeploymentDto } from "@/server/deployments/service";
import { getDeploymentDetail, stopDeployment } from "@/server/deployments/service";
import { getModelDetail } from "@/server/registry/lineage";
import { renameRegisteredModel } from "@/server/registry/models";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, call, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { settleDeployments } from "@/server/workers/testing";

const db = demoDatabase();
let ds = "";
let fraud = "";
// Spaces, '#', '?', '&' and non-ASCII: all legal in a model name, all in need of encoding in a path.
let model = "";
const ROW = [1, 2, 3, 4];
const INFER = { inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: ROW }] };

async function onnxVersion(name: string, weights: number[]): Promise<void> {
  const at = await newRun(ds, "stable");
  await putRunFile(ds, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights, bias: [0] })));
  await registerVersion(ds, name, at);
}

async function deployStaging(name: string, version: number): Promise<string> {
  const res = await call(deployRoute, { method: "POST", token: ds, params: { name }, body: { version, environment: "staging", replicas: 1, auto_scale: false } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  const id = (res.json as { deployment_id: string }).deployment_id;
  await settleDeployments(db());
  return id;
}

/** A gateway request as Next hands it to the route: path segments decoded (once). */
function serve(token: string | undefined, team: string, segments: string[], init: { method?: "GET" | "POST"; body?: unknown } = {}) {
  const method = init.method ?? (init.body === undefined ? "GET" : "POST");
  const [second, ...path] = segments;
  return call((method === "GET" ? serveGet : servePost) as never, { method, token, body: init.body, params: { team, deployment: second!, path }, path: `/serve/${team}/${segments.map(encodeURIComponent).join("/")}` });
}

const infer = (token: string | undefined, team: string, second: string, environment: string | null, name = model) =>
  serve(token, team, [second, ...(environment ? [environment] : []), "v2", "models", name, "infer"], { body: INFER });
const answeredBy = (res: { response: Response }) => res.response.headers.get("x-cairn-deployment");
const versionOf = (res: { json: unknown }) => (res.json as { model_version?: string }).model_version;
const error = (res: { json: unknown }) => (res.json as { error: string }).error;

beforeAll(async () => {
  [ds, fraud] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  model = unique("churn scorer #1? & ü");
  await createModel(ds, model);
  await onnxVersion(model, [0.5, -1, 2, 0.25]); // v1
  await onnxVersion(model, [-0.5, 1, -2, 0.25]); // v2
});

afterAll(async () => {
  await stopAllReplicas();
});

describe("the address rule", () => {
  it("reads the segment after the second: an environment makes it a model address, anything else a deployment's", () => {
    const uuid = "0f8e3a52-6d8b-4c55-9a51-31c1f0b2a7e9";
    expect(serveAddress("churn", ["production", "v2", "models", "churn", "infer"])).toEqual({ kind: "model", model: "churn", environment: "production", path: ["v2", "models", "churn", "infer"] });
    expect(serveAddress(uuid, ["staging", "invocations"])).toEqual({ kind: "model", model: uuid, environment: "staging", path: ["invocations"] });
    expect(serveAddress(uuid, ["invocations"])).toEqual({ kind: "deployment", id: uuid, path: ["invocations"] });
    // Models named after the environments are still models; environment words are exact.
    expect(serveAddress("staging", ["production", "invocations"])).toMatchObject({ kind: "model", model: "staging", environment: "production" });
    expect(serveAddress("production", ["v2", "health", "ready"])).toMatchObject({ kind: "deployment", id: "production" });
    expect(serveAddress("churn", ["Production", "invocations"])).toMatchObject({ kind: "deployment" });
  });
});

describe("a model's staging address", () => {
  let v1 = "";
  let v2 = "";

  it("answers 503 with what to do while nothing serves the environment", async () => {
    for (const environment of ["staging", "production"]) {
      const res = await infer(ds, "churn", model, environment);
      expect(res.status).toBe(503);
      expect(error(res)).toContain(`Nothing serves ${model} in ${environment}`);
      expect(error(res)).toContain(`/serve/churn/${encodeURIComponent(model)}/${environment}`);
      expect(res.response.headers.get("retry-after")).not.toBeNull();
    }
  });

  it("reaches the staging deployment, and names it in the DTO, the deploy answer and the registry", async () => {
    const res = await call(deployRoute, { method: "POST", token: ds, params: { name: model }, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false } });
    const stable = `/serve/churn/${encodeURIComponent(model)}/staging`;
    expect(res.json).toMatchObject({ stable_endpoint: stable });
    v1 = (res.json as { deployment_id: string }).deployment_id;
    await settleDeployments(db());
    const dto = (await call(getRoute, { token: ds, params: { id: v1 } })).json as DeploymentDto;
    expect(dto).toMatchObject({ status: "ready", endpoint: `/serve/churn/${v1}`, stable_endpoint: stable });
    expect(stable).not.toMatch(/[ #?&ü]/);

    const answer = await infer(ds, "churn", model, "staging");
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(versionOf(answer)).toBe("1");
    expect(answeredBy(answer)).toBe(v1);
    const inv = await serve(ds, "churn", [model, "staging", "invocations"], { body: { inputs: [ROW] } });
    expect(inv.status).toBe(200);
    expect((inv.json as { predictions: number[][] }).predictions).toHaveLength(1);
    const meta = await serve(ds, "churn", [model, "staging", "v2", "models", model]);
    expect(meta.status).toBe(200);
    expect(meta.json).toMatchObject({ name: model, versions: ["1"] });
    expect((await serve(ds, "churn", [model, "staging", "v2", "health", "ready"])).status).toBe(200);
  });

  it("moves to the staging deployment that began serving last; the pinned address keeps its own", async () => {
    v2 = await deployStaging(model, 2);
    const stable = await infer(ds, "churn", model, "staging");
    expect([stable.status, versionOf(stable), answeredBy(stable)]).toEqual([200, "2", v2]);
    const pinned = await infer(ds, "churn", v1, null);
    expect([pinned.status, versionOf(pinned), answeredBy(pinned)]).toEqual([200, "1", v1]);

    const ctx = await ctxFor(db(), DEMO.ds);
    const detail = await getModelDetail(ctx, model);
    expect(detail.endpoints).toEqual([
      { environment: "production", endpoint: `/serve/churn/${encodeURIComponent(model)}/production`, deployment_id: null, version: null },
      { environment: "staging", endpoint: `/serve/churn/${encodeURIComponent(model)}/staging`, deployment_id: v2, version: 2 },
    ]);
    expect((await getDeploymentDetail(ctx, v1)).stable_endpoint_reaches).toBe(v2);
    expect((await getDeploymentDetail(ctx, v2)).stable_endpoint_reaches).toBe(v2);
  });

  it("falls back to the one serving before when the newest stops; a staging deployment stopped by hand answers 410", async () => {
    await stopDeployment(await ctxFor(db(), DEMO.ds), v2);
    const stable = await infer(ds, "churn", model, "staging");
    expect([stable.status, versionOf(stable), answeredBy(stable)]).toEqual([200, "1", v1]);
    const gone = await infer(ds, "churn", v2, null);
    expect(gone.status).toBe(410);
  });

  it("refuses a misspelt environment, dot segments and paths outside the model server's surface", async () => {
    // (Malformed percent-encoding never reaches the route: the front door answers it 400, server/http/front-door.test.ts.)
    const dotted = await serve(ds, "churn", [model, "staging", "..", "invocations"], { body: INFER });
    expect(dotted.status).toBe(404);
    const misspelt = await serve(ds, "churn", [model, "prod", "invocations"], { body: { inputs: [ROW] } });
    expect(misspelt.status).toBe(404);
    expect(error(misspelt)).toContain(`/serve/churn/${encodeURIComponent(model)}/production/`);
    expect((await serve(ds, "churn", [model, "staging"], { body: {} })).status).toBe(404);
    expect((await serve(ds, "churn", [model, "staging", "v2", "models", "someone-else", "infer"], { body: INFER })).status).toBe(404);
    expect((await serve(ds, "churn", [model, "staging", "invocations"])).status).toBe(405);
  });
});

describe("who may call it", () => {
  it("another team's token gets the 404 a missing model gets, and the refusal is audited", async () => {
    const foreign = await infer(fraud, "churn", model, "staging");
    const missing = await infer(ds, "churn", `${model}-nope`, "staging");
    expect([foreign.status, missing.status]).toEqual([404, 404]);
    expect(error(foreign)).toBe(`Model "${model}" was not found in team churn.`);
    expect(error(missing)).toBe(`Model "${model}-nope" was not found in team churn.`);
    expect(answeredBy(foreign)).toBeNull();
    // Audited after the answer (so a refusal takes as long as a miss): wait for the row.
    const denial = async () => (await db().select().from(auditEvents).where(and(eq(auditEvents.action, "deployment.infer"), eq(auditEvents.target, `model:churn/${model}`), eq(auditEvents.outcome, "denied"))))[0];
    for (let i = 0; i < 100 && !(await denial()); i++) await new Promise((r) => setTimeout(r, 20));
    expect((await denial())?.details).toMatchObject({ token_team: "fraud" });
    // The model under the caller's own team's slug: not there either.
    expect((await infer(fraud, "fraud", model, "staging")).status).toBe(404);
    expect((await infer(ds, "fraud", model, "staging")).status).toBe(404);
    const none = await infer(undefined, "churn", model, "staging");
    expect(none.status).toBe(401);
  });
});

describe("a model named like a deployment's UUID", () => {
  it("keeps the two apart: the environment address reaches the model, the bare UUID the deployment", async () => {
    const [pinned] = await db().select({ id: deployments.id }).from(deployments).where(and(eq(deployments.modelName, model), eq(deployments.status, "ready")));
    const twin = pinned!.id;
    await createModel(ds, twin);
    await onnxVersion(twin, [0, 0, 0, 1]);
    const twinDeployment = await deployStaging(twin, 1);

    const viaModel = await infer(ds, "churn", twin, "staging", twin);
    expect([viaModel.status, answeredBy(viaModel)]).toEqual([200, twinDeployment]);
    expect((viaModel.json as { model_name: string }).model_name).toBe(twin);
    const viaDeployment = await infer(ds, "churn", twin, null, model);
    expect([viaDeployment.status, answeredBy(viaDeployment)]).toEqual([200, twin]);
    expect((viaDeployment.json as { model_name: string }).model_name).toBe(model);
    await stopDeployment(await ctxFor(db(), DEMO.ds), twinDeployment);
  });
});

describe("what the address says while nothing serves", () => {
  it("a production deployment still starting: 503 that says so, with Retry-After", async () => {
    const [m] = await db().select({ id: registeredModels.id, teamId: registeredModels.teamId }).from(registeredModels).where(eq(registeredModels.name, model));
    // A record only: the gateway answers from what the database says is live.
    const [starting] = await db().insert(deployments).values({ teamId: m!.teamId, modelId: m!.id, modelName: model, version: 2, environment: "production", status: "deploying", replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, createdByEmail: "test" }).returning({ id: deployments.id });
    try {
      const res = await infer(ds, "churn", model, "production");
      expect(res.status).toBe(503);
      expect(error(res)).toContain(`The production deployment of ${model} (${starting!.id}, version 2) is still starting`);
      expect(res.response.headers.get("retry-after")).toBe("1");
    } finally {
      await db().delete(deployments).where(eq(deployments.id, starting!.id));
    }
  });
});

describe("after a rename", () => {
  it("the address follows the registered name; the OIP path takes the new name or the served one", async () => {
    const renamed = `${model} renamed`;
    await renameRegisteredModel(await ctxFor(db(), DEMO.lead), model, renamed);
    expect((await infer(ds, "churn", model, "staging")).status).toBe(404);
    for (const name of [renamed, model]) {
      const res = await infer(ds, "churn", renamed, "staging", name);
      expect([res.status, versionOf(res)], name).toEqual([200, "1"]);
    }
    const [live] = await db().select({ id: deployments.id }).from(deployments).where(and(eq(deployments.modelName, model), eq(deployments.status, "ready"), eq(deployments.environment, "staging")));
    const dto = (await call(getRoute, { token: ds, params: { id: live!.id } })).json as DeploymentDto;
    expect(dto.stable_endpoint).toBe(`/serve/churn/${encodeURIComponent(renamed)}/staging`);
  });
});
