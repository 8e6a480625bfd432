// POST /api/v1/runs/{id}/register: a run's model folder as a new version, and every refusal writes nothing.
import { describe, expect, it } from "vitest";
import { GET as modelsGET } from "@/app/api/v1/models/route";
import { POST } from "@/app/api/v1/runs/[id]/register/route";
import { artifacts, createExperiment, createRun } from "@/server/mlflow/test-client";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { call, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";

const db = demoDatabase();

async function runWithModel(token: string) {
  const exp = await createExperiment(token, `v1-register-${Date.now()}-${Math.random()}`);
  const run = await createRun(token, exp);
  const onnxBytes = new Uint8Array(linearClassifierOnnx({ features: 3, classes: 2, weights: [0.5, -0.25, 1], bias: [0.1] }));
  expect((await artifacts(token, "PUT", `${exp}/${run.run_id}/artifacts/model/model.onnx`, { body: onnxBytes })).status).toBe(200);
  expect((await artifacts(token, "PUT", `${exp}/${run.run_id}/artifacts/model/MLmodel`, { body: "flavors:\n  onnx:\n    data: model.onnx\n" })).status).toBe(200);
  return run;
}

const register = (token: string, runId: string, body: unknown) =>
  call(POST, { method: "POST", token, path: `/api/v1/runs/${runId}/register`, params: { id: runId }, body });

async function modelNames(token: string, q: string): Promise<string[]> {
  const list = await call(modelsGET, { token, path: `/api/v1/models?q=${q}` });
  return (list.json as { models: { name: string }[] }).models.map((m) => m.name);
}

describe("POST /api/v1/runs/{id}/register", () => {
  it("creates the model with version 1, then adds version 2 to it", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const run = await runWithModel(token);
    const name = `reg-${Date.now()}`;
    const first = await register(token, run.run_id, { name, description: "baseline" });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ name, version: 1, team: "churn", source: `runs:/${run.run_id}/model`, run_id: run.run_id, format: "onnx", description: "baseline" });
    expect((first.json as { content_digest: string }).content_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const second = await register(token, run.run_id, { name, path: "/model/" });
    expect(second.status).toBe(201);
    expect(second.json).toMatchObject({ version: 2, source: `runs:/${run.run_id}/model` });
  });

  it("refuses another team's run as not found and writes nothing in either team", async () => {
    const run = await runWithModel(await tokenFor(db(), DEMO.ds, "churn"));
    const fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const name = `stolen-${Date.now()}`;
    const res = await register(fraud, run.run_id, { name });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { code: "not_found" } });
    expect(await modelNames(fraud, name)).toEqual([]);
    expect(await modelNames(await tokenFor(db(), DEMO.lead, "churn"), name)).toEqual([]);
  });

  it("names what is wrong with the body, and a path without files leaves no empty model behind", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const run = await runWithModel(token);
    const bad = await register(token, run.run_id, { name: "a/b", extra: 1 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain("may not contain '/'");
    const name = `empty-${Date.now()}`;
    const nothing = await register(token, run.run_id, { name, path: "no-such-folder" });
    expect(nothing.status).toBeGreaterThanOrEqual(400);
    expect(nothing.status).toBeLessThan(500);
    expect(await modelNames(token, name)).toEqual([]);
    // The same name registers cleanly afterwards, as version 1.
    expect((await register(token, run.run_id, { name })).json).toMatchObject({ version: 1 });
  });
});
