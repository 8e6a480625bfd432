// /api/v1/models and the registry's page services (lineage, comparison, Register model from a run).
import { describe, expect, it } from "vitest";
import { GET as modelGET } from "@/app/api/v1/models/[name]/route";
import { GET as modelsGET } from "@/app/api/v1/models/route";
import { artifacts, createExperiment, createRun, post } from "@/server/mlflow/test-client";
import { compareVersions, getVersionLineage } from "@/server/registry/lineage";
import { registerFromRun } from "@/server/registry/register";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";

const db = demoDatabase();

async function runWithModel(token: string, lr: string, auc: number) {
  const exp = await createExperiment(token, `v1-models-${Date.now()}-${Math.random()}`);
  const run = await createRun(token, exp);
  await post(token, "runs/log-batch", { run_id: run.run_id, params: [{ key: "lr", value: lr }], metrics: [{ key: "auc", value: auc, timestamp: Date.now(), step: 1 }] });
  const onnxBytes = new Uint8Array(linearClassifierOnnx({ features: 3, classes: 2, weights: [0.5, -0.25, 1], bias: [0.1] }));
  expect((await artifacts(token, "PUT", `${exp}/${run.run_id}/artifacts/model/model.onnx`, { body: onnxBytes })).status).toBe(200);
  expect((await artifacts(token, "PUT", `${exp}/${run.run_id}/artifacts/model/MLmodel`, { body: "flavors:\n  onnx:\n    data: model.onnx\n" })).status).toBe(200);
  return run;
}

describe("/api/v1/models", () => {
  it("registers from a run page, lists the model with its latest version and aliases, and shows the lineage", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const ctx = await ctxFor(db(), DEMO.ds);
    const a = await runWithModel(token, "0.1", 0.8);
    const b = await runWithModel(token, "0.01", 0.85);
    const name = `v1-model-${Date.now()}`;
    const v1 = await registerFromRun(ctx, { runId: a.run_id, path: "model", name });
    const v2 = await registerFromRun(ctx, { runId: b.run_id, path: "model/", name });
    expect([v1.version, v2.version]).toEqual(["1", "2"]);
    expect(v2).toMatchObject({ team: "churn", format: "onnx", source: `runs:/${b.run_id}/model` });
    expect((await post(token, "registered-models/alias", { name, alias: "champion", version: "2" })).status).toBe(200);

    const list = await call(modelsGET, { token, path: "/api/v1/models?q=v1-model-" });
    expect(list.status).toBe(200);
    expect((list.json as { models: unknown[] }).models).toContainEqual(expect.objectContaining({ name, team: "churn", latest_version: 2, aliases: { champion: 2 } }));

    const detail = await call(modelGET, { token, path: `/api/v1/models/${name}`, params: { name } });
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({
      name, team: "churn", aliases: { champion: 2 }, protected_aliases: ["production"],
      versions: [
        { version: 2, status: "READY", source: `runs:/${b.run_id}/model`, run_id: b.run_id, format: "onnx", aliases: ["champion"] },
        { version: 1, run_id: a.run_id, format: "onnx", aliases: [] },
      ],
      alias_history: [{ alias: "champion", from_version: null, to_version: 2 }],
    });

    const lineage = await getVersionLineage(ctx, name, 2);
    expect(lineage.run?.info.run_id).toBe(b.run_id);
    expect(lineage.run?.data.params).toEqual([{ key: "lr", value: "0.01" }]);
    expect(lineage.inspection.signature?.inputs).toEqual([{ name: "features", type: "float32", shape: ["N", 3] }]);
    expect(lineage.artifacts.map((f) => f.path.split("/").pop())).toEqual(["MLmodel", "model.onnx"]);

    const cmp = await compareVersions(ctx, name, ["1", "2"]);
    expect(cmp.metrics).toEqual([{ key: "auc", values: [0.8, 0.85] }]);
    expect(cmp.params).toEqual([{ key: "lr", values: ["0.1", "0.01"], differs: true }]);
  });

  it("shows another team's model to no one outside it", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const run = await runWithModel(token, "0.5", 0.7);
    const name = `private-${Date.now()}`;
    await registerFromRun(await ctxFor(db(), DEMO.ds), { runId: run.run_id, path: "model", name });
    const fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
    expect((await call(modelGET, { token: fraud, path: `/api/v1/models/${name}`, params: { name } })).status).toBe(404);
    expect((await call(modelGET, { token: fraud, path: `/api/v1/models/${name}?team=churn`, params: { name } })).status).toBe(404);
    const list = await call(modelsGET, { token: fraud, path: "/api/v1/models" });
    expect(JSON.stringify(list.json)).not.toContain(name);
    // Registering another team's run is refused.
    await expect(registerFromRun(await ctxFor(db(), DEMO.dsFraud), { runId: run.run_id, path: "model", name: "stolen" })).rejects.toMatchObject({ code: "not_found" });
  });
});
