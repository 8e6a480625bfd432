// Cross-team isolation over the MLflow API: a fraud token can neither see nor change anything of
// team churn (reads answer 404 so existence is not revealed; writes too, and nothing changes),
// while an admin token sees every team.
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import type { ErrorBody, Experiment, KV, Metric, Run } from "./test-client";
import { artifacts, createExperiment, createRun, get, getRun, mlflow, post } from "./test-client";

const db = demoDatabase();
let churn = "";
let fraud = "";
let admin = "";
let exp = "";
let expName = "";
let run = "";
let model = "";

function expectHidden(res: { status: number; json: unknown }, label: string) {
  expect(res.status, label).toBe(404);
  expect((res.json as ErrorBody).error_code, label).toBe("RESOURCE_DOES_NOT_EXIST");
}

function expectRefused(res: { status: number; json: unknown }, label: string) {
  // A write about another team's object answers like a read: its existence is not revealed.
  expect(res.status, label).toBe(404);
  expect((res.json as ErrorBody).error_code, label).toBe("RESOURCE_DOES_NOT_EXIST");
}

beforeAll(async () => {
  [churn, fraud, admin] = await Promise.all([
    tokenFor(db(), DEMO.mle, "churn"),
    tokenFor(db(), DEMO.leadFraud, "fraud"),
    tokenFor(db(), DEMO.admin, "vision"),
  ]);
  expName = `churn-secret-${Date.now()}`;
  exp = await createExperiment(churn, expName, { tags: [{ key: "owner", value: "churn" }] });
  run = (await createRun(churn, exp, { run_name: "churn-run" })).run_id;
  await post(churn, "runs/log-batch", {
    run_id: run,
    metrics: [{ key: "auc", value: 0.91, timestamp: 1, step: 0 }],
    params: [{ key: "lr", value: "0.01" }],
    tags: [{ key: "owner", value: "churn" }],
  });
  expect((await artifacts(churn, "PUT", `${exp}/${run}/artifacts/secret.txt`, { body: "churn-only" })).status).toBe(200);
  model = (await post<{ model: { info: { model_id: string } } }>(churn, "logged-models", { experiment_id: exp, name: "churn-model", source_run_id: run })).json.model.info.model_id;
  expect((await artifacts(churn, "PUT", `${exp}/models/${model}/artifacts/MLmodel`, { body: "churn-model" })).status).toBe(200);
});

describe("a fraud token reading churn's objects", () => {
  it("sees none of churn's experiments", async () => {
    const search = await post<{ experiments: Experiment[] }>(fraud, "experiments/search", { max_results: 50000, view_type: "ALL" });
    expect(search.status).toBe(200);
    expect(search.json.experiments.every((e) => e.team === "fraud")).toBe(true);
    expect(search.json.experiments.map((e) => e.experiment_id)).not.toContain(exp);
    const byFilter = await post<{ experiments: Experiment[] }>(fraud, "experiments/search", { filter: `name = '${expName}'` });
    expect(byFilter.json.experiments).toEqual([]);
    expectHidden(await get(fraud, "experiments/get", { experiment_id: exp }), "experiments/get");
    expectHidden(await get(fraud, "experiments/get-by-name", { experiment_name: expName }), "experiments/get-by-name");
  });

  it("sees none of churn's runs, metrics or artifacts", async () => {
    expectHidden(await get(fraud, "runs/get", { run_id: run }), "runs/get");
    expectHidden(await post(fraud, "runs/search", { experiment_ids: [exp] }), "runs/search");
    const fraudExp = await createExperiment(fraud, `fraud-own-${Date.now()}`);
    expectHidden(await post(fraud, "runs/search", { experiment_ids: [fraudExp, exp] }), "runs/search mixed");
    expectHidden(await get(fraud, "metrics/get-history", { run_id: run, metric_key: "auc" }), "get-history");
    expectHidden(await get(fraud, "metrics/get-history-sampled", { run_id: run, metric_key: "auc" }), "get-history-sampled");
    expectHidden(await get(fraud, "artifacts/list", { run_id: run }), "artifacts/list");
    const download = await artifacts(fraud, "GET", `${exp}/${run}/artifacts/secret.txt`);
    expectHidden(download, "artifact download");
    expect(download.text).not.toContain("churn-only");
    expectHidden(await artifacts(fraud, "GET", "", { query: { path: `${exp}/${run}/artifacts` } }), "artifact listing");
  });

  it("sees none of churn's logged models", async () => {
    expectHidden(await get(fraud, `logged-models/${model}`), "logged-models get");
    expectHidden(await post(fraud, "logged-models/search", { experiment_ids: [exp] }), "logged-models search");
    expectHidden(await artifacts(fraud, "GET", `${exp}/models/${model}/artifacts/MLmodel`), "model artifact download");
    expectHidden(await artifacts(fraud, "GET", "", { query: { path: `${exp}/models/${model}/artifacts` } }), "model artifact listing");
  });
});

describe("a fraud token writing churn's objects", () => {
  it("is refused and changes nothing", async () => {
    const writes: [string, Promise<{ status: number; json: unknown }>][] = [
      ["experiments/update", post(fraud, "experiments/update", { experiment_id: exp, new_name: "pwned" })],
      ["experiments/delete", post(fraud, "experiments/delete", { experiment_id: exp })],
      ["set-experiment-tag", post(fraud, "experiments/set-experiment-tag", { experiment_id: exp, key: "owner", value: "fraud" })],
      ["delete-experiment-tag", post(fraud, "experiments/delete-experiment-tag", { experiment_id: exp, key: "owner" })],
      ["runs/create", post(fraud, "runs/create", { experiment_id: exp, run_name: "intruder" })],
      ["runs/update", post(fraud, "runs/update", { run_id: run, status: "KILLED", run_name: "pwned" })],
      ["runs/delete", post(fraud, "runs/delete", { run_id: run })],
      ["runs/set-tag", post(fraud, "runs/set-tag", { run_id: run, key: "owner", value: "fraud" })],
      ["runs/delete-tag", post(fraud, "runs/delete-tag", { run_id: run, key: "owner" })],
      ["runs/log-parameter", post(fraud, "runs/log-parameter", { run_id: run, key: "injected", value: "1" })],
      ["runs/log-metric", post(fraud, "runs/log-metric", { run_id: run, key: "auc", value: 0.1, timestamp: 2, step: 9 })],
      ["runs/log-batch", post(fraud, "runs/log-batch", { run_id: run, metrics: [{ key: "auc", value: 0.2, timestamp: 3, step: 10 }], tags: [{ key: "x", value: "y" }] })],
      ["runs/log-inputs", post(fraud, "runs/log-inputs", { run_id: run, datasets: [{ tags: [], dataset: { name: "d", digest: "1", source_type: "local", source: "{}" } }] })],
      ["runs/log-model", post(fraud, "runs/log-model", { run_id: run, model_json: JSON.stringify({ artifact_path: "m" }) })],
      ["runs/outputs", post(fraud, "runs/outputs", { run_id: run, models: [{ model_id: model, step: 0 }] })],
      ["logged-models create", post(fraud, "logged-models", { experiment_id: exp, name: "intruder" })],
      ["logged-models finalize", mlflow(fraud, "PATCH", `logged-models/${model}`, { body: { status: "LOGGED_MODEL_READY" } })],
      ["logged-models tags", mlflow(fraud, "PATCH", `logged-models/${model}/tags`, { body: { tags: [{ key: "owner", value: "fraud" }] } })],
      ["logged-models delete tag", mlflow(fraud, "DELETE", `logged-models/${model}/tags/mlflow.user`)],
      ["logged-models delete", mlflow(fraud, "DELETE", `logged-models/${model}`)],
    ];
    for (const [label, pending] of writes) expectRefused(await pending, label);

    const e = (await get<{ experiment: Experiment }>(churn, "experiments/get", { experiment_id: exp })).json.experiment;
    expect(e).toMatchObject({ name: expName, lifecycle_stage: "active", tags: [{ key: "owner", value: "churn" }] });
    const r = await getRun(churn, run);
    expect(r.info).toMatchObject({ run_name: "churn-run", status: "RUNNING", lifecycle_stage: "active" });
    expect(r.data.params).toEqual([{ key: "lr", value: "0.01" }]);
    expect(r.data.metrics.map((m) => [m.key, m.value, m.step])).toEqual([["auc", 0.91, 0]]);
    expect(r.data.tags.filter((t: KV) => t.key === "owner" || t.key === "x" || t.key === "mlflow.log-model.history")).toEqual([{ key: "owner", value: "churn" }]);
    expect(r.inputs.dataset_inputs).toEqual([]);
    expect(r.outputs.model_outputs).toEqual([]);
    const history = await get<{ metrics: Metric[] }>(churn, "metrics/get-history", { run_id: run, metric_key: "auc" });
    expect(history.json.metrics).toHaveLength(1);
    const runs = await post<{ runs: Run[] }>(churn, "runs/search", { experiment_ids: [exp], run_view_type: "ALL" });
    expect(runs.json.runs.map((x) => x.info.run_id)).toEqual([run]);
    const m = await get<{ model: { info: { status: string; tags: KV[] } } }>(churn, `logged-models/${model}`);
    expect(m.status).toBe(200);
    expect(m.json.model.info.status).toBe("LOGGED_MODEL_PENDING");
    expect(m.json.model.info.tags).toEqual([]);
    const models = await post<{ models: unknown[] }>(churn, "logged-models/search", { experiment_ids: [exp] });
    expect(models.json.models).toHaveLength(1);
  });

  it("cannot upload artifacts into churn's runs or models", async () => {
    expectRefused(await artifacts(fraud, "PUT", `${exp}/${run}/artifacts/secret.txt`, { body: "overwritten" }), "overwrite");
    expectRefused(await artifacts(fraud, "PUT", `${exp}/${run}/artifacts/new.txt`, { body: "planted" }), "plant");
    expectRefused(await artifacts(fraud, "PUT", `${exp}/models/${model}/artifacts/MLmodel`, { body: "planted" }), "model overwrite");
    expect((await artifacts(churn, "GET", `${exp}/${run}/artifacts/secret.txt`)).text).toBe("churn-only");
    expect((await artifacts(churn, "GET", `${exp}/models/${model}/artifacts/MLmodel`)).text).toBe("churn-model");
    const listing = await artifacts<{ files: { path: string }[] }>(churn, "GET", "", { query: { path: `${exp}/${run}/artifacts` } });
    expect(listing.json.files.map((f) => f.path)).toEqual(["secret.txt"]);
  });

  it("cannot borrow churn's runs as parents or model sources in its own experiments", async () => {
    const own = await createExperiment(fraud, `fraud-borrow-${Date.now()}`);
    expect((await post(fraud, "runs/create", { experiment_id: own, tags: [{ key: "mlflow.parentRunId", value: run }] })).status).toBe(400);
    expectRefused(await post(fraud, "logged-models", { experiment_id: own, source_run_id: run }), "logged model source");
    const fraudRun = await createRun(fraud, own);
    expectRefused(await post(fraud, "runs/outputs", { run_id: fraudRun.run_id, models: [{ model_id: model, step: 0 }] }), "outputs with churn model");
    expect((await getRun(fraud, fraudRun.run_id)).outputs.model_outputs).toEqual([]);
  });
});

describe("an admin token", () => {
  it("sees every team's experiments, runs, metrics, models and artifacts", async () => {
    const search = await post<{ experiments: Experiment[] }>(admin, "experiments/search", { max_results: 50000 });
    const teams = new Set(search.json.experiments.map((e) => e.team));
    expect(teams.has("churn")).toBe(true);
    expect(teams.has("fraud")).toBe(true);
    expect((await get<{ experiment: Experiment }>(admin, "experiments/get", { experiment_id: exp })).json.experiment.name).toBe(expName);
    expect((await getRun(admin, run)).info.run_name).toBe("churn-run");
    expect((await post<{ runs: Run[] }>(admin, "runs/search", { experiment_ids: [exp] })).json.runs).toHaveLength(1);
    expect((await get<{ metrics: Metric[] }>(admin, "metrics/get-history", { run_id: run, metric_key: "auc" })).json.metrics).toHaveLength(1);
    expect((await get(admin, `logged-models/${model}`)).status).toBe(200);
    expect((await artifacts(admin, "GET", `${exp}/${run}/artifacts/secret.txt`)).text).toBe("churn-only");
  });
});
