// Sampling through the real gateway: a registered ONNX version (4 inputs, the fourth tagged sensitive) with a
// reference profile, deployed to staging on the local backend; requests to the model's stable address are
// answered as before, and at sample rate 1 each lands in the inference log named after the profile, with the
// prediction the replica gave and without the sensitive column; at rate 0 none does; errors are never sampled.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { inferenceSamples } from "@/db/schema";
import { REFERENCE_FORMAT } from "@/lib/schemas/drift";
import { deployModel } from "../approvals/deploy";
import { answerResponse, fromRequest, serveInference } from "../deployments/gateway";
import { stopAllReplicas } from "../deployments/runtime";
import { post } from "../mlflow/test-client";
import { linearClassifierOnnx } from "../registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "../registry/test-helpers";
import { ctxFor, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { settleDeployments } from "../workers/testing";
import { flushInferenceSamples } from "./sampler";
import { setSampleRate } from "./service";

const db = demoDatabase();
let token = "";
let model = "";
let id = "";

const numeric = (name: string) => ({ name, kind: "numeric", bin_edges: [-10, 0, 10], counts: [50, 50] });

beforeAll(async () => {
  token = await tokenFor(db(), DEMO.mle, "churn");
  const run = await newRun(token, "drift-gateway");
  await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights: [0.5, -1, 2, 0.25], bias: [0.1] })));
  await putRunFile(token, run, "reference/profile.json", JSON.stringify({ format: REFERENCE_FORMAT, features: ["age", "income", "score", "ssn"].map(numeric) }));
  model = unique("drift-gateway");
  await createModel(token, model);
  const v = await registerVersion(token, model, run);
  expect((await post(token, "model-versions/set-tag", { name: model, version: v.version, key: "cairn.sensitive_columns", value: "ssn" })).status).toBe(200);
  ({ deployment_id: id } = await deployModel(await ctxFor(db(), DEMO.mle), model, { version: 1, environment: "staging", traffic: 100, replicas: 1, auto_scale: false }));
  await settleDeployments(db());
}, 60_000);

afterAll(async () => {
  await stopAllReplicas();
});

/** MLflow's scoring format on the model's stable staging address; a string is sent as it is. */
async function infer(rows: number[][] | string): Promise<Response> {
  const body = typeof rows === "string" ? rows : JSON.stringify({ inputs: rows });
  const req = new Request(`http://localhost/serve/churn/${model}/staging/invocations`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
  return answerResponse(await serveInference(db(), fromRequest(req), { team: "churn", deployment: model, path: ["staging", "invocations"] }));
}

it("samples the stable address's answers at the deployment's rate, named after the profile, never the sensitive column", async () => {
  const mle = await ctxFor(db(), DEMO.mle);
  await setSampleRate(mle, id, { sample_rate: 0 });
  for (let i = 0; i < 5; i++) expect((await infer([[1, 2, 3, 4]])).status).toBe(200);
  await flushInferenceSamples();
  expect(await db().select().from(inferenceSamples).where(eq(inferenceSamples.deploymentId, id))).toEqual([]);

  await setSampleRate(mle, id, { sample_rate: 1 });
  const res = await infer([[1, 2, 3, 4], [-1, 0, 5, 123456789]]);
  expect(res.status).toBe(200);
  expect(res.headers.get("x-cairn-deployment")).toBe(id);
  const answer = (await res.json()) as { predictions: number[][] };
  expect((await infer("{not json")).status).toBe(400);
  await flushInferenceSamples();
  const rows = await db().select().from(inferenceSamples).where(eq(inferenceSamples.deploymentId, id)).orderBy(inferenceSamples.id);
  expect(rows.map((r) => r.features).sort((a, b) => Number(b.age) - Number(a.age))).toEqual([{ age: 1, income: 2, score: 3 }, { age: -1, income: 0, score: 5 }]);
  expect(rows.map((r) => r.requestId)).toEqual([res.headers.get("x-request-id"), res.headers.get("x-request-id")]);
  const byAge = new Map(rows.map((r) => [r.features.age, r.prediction]));
  expect(byAge.get(1)).toBeCloseTo(answer.predictions[0]![1]!, 5);
  expect(byAge.get(-1)).toBeCloseTo(answer.predictions[1]![1]!, 5);
  expect(JSON.stringify(rows)).not.toContain("123456789");
}, 60_000);
