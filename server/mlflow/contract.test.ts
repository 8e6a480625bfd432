// Contract tests of the MLflow tracking REST API, endpoint by endpoint, with request bodies shaped
// like the official Python client's (see testdata/ and MLflow's REST API reference).
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { metrics, runs, teams } from "@/db/schema";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import type { ErrorBody, Experiment, KV, Metric, Run, RunInfo } from "./test-client";
import { artifacts, createExperiment, createRun, get, getRun, mlflow, post } from "./test-client";

const db = demoDatabase();
let ds = "";
let mle = "";
let dsFraud = "";

beforeAll(async () => {
  [ds, mle, dsFraud] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
});

let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now()}-${++seq}`;
const tagValue = (tags: KV[], key: string) => tags.find((t) => t.key === key)?.value;

describe("experiments", () => {
  it("creates an experiment; a duplicate name in the same team is RESOURCE_ALREADY_EXISTS, another team may reuse it", async () => {
    const name = unique("exp");
    const created = await post<{ experiment_id: string }>(ds, "experiments/create", { name, tags: [{ key: "owner", value: "dana" }] });
    expect(created.status).toBe(200);
    expect(created.json.experiment_id).toMatch(/^\d+$/);

    const dup = await post<ErrorBody>(ds, "experiments/create", { name });
    expect(dup.status).toBe(400);
    expect(dup.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");

    const other = await post<{ experiment_id: string }>(dsFraud, "experiments/create", { name });
    expect(other.status).toBe(200);
    expect(other.json.experiment_id).not.toBe(created.json.experiment_id);

    const got = await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: created.json.experiment_id });
    expect(got.status).toBe(200);
    expect(got.json.experiment).toMatchObject({ name, lifecycle_stage: "active", team: "churn", tags: [{ key: "owner", value: "dana" }] });
  });

  it("ignores a client-supplied artifact_location", async () => {
    const res = await post<{ experiment_id: string }>(ds, "experiments/create", { name: unique("loc"), artifact_location: "file:///etc" });
    expect(res.status).toBe(200);
    const got = await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: res.json.experiment_id });
    expect(got.json.experiment.artifact_location).toBe(`mlflow-artifacts:/${res.json.experiment_id}`);
  });

  it("rejects malformed create requests", async () => {
    expect((await post<ErrorBody>(ds, "experiments/create", {})).json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect((await post(ds, "experiments/create", { name: "   " })).status).toBe(400);
    expect((await post(ds, "experiments/create", { name: "x".repeat(501) })).status).toBe(400);
  });

  it("gets by name, and answers 404 RESOURCE_DOES_NOT_EXIST for an unknown name or id", async () => {
    const name = unique("by-name");
    const id = await createExperiment(ds, name);
    const found = await get<{ experiment: Experiment }>(ds, "experiments/get-by-name", { experiment_name: name });
    expect(found.status).toBe(200);
    expect(found.json.experiment.experiment_id).toBe(id);

    const missing = await get<ErrorBody>(ds, "experiments/get-by-name", { experiment_name: unique("nope") });
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");

    const noId = await get<ErrorBody>(ds, "experiments/get", { experiment_id: "987654321" });
    expect(noId.status).toBe(404);
    expect(noId.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect((await get<ErrorBody>(ds, "experiments/get", { experiment_id: "abc" })).status).toBe(400);
  });

  it("searches with a name LIKE filter, view_type, and pages with page_token", async () => {
    const prefix = unique("search");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createExperiment(ds, `${prefix}-${i}`));
    await createExperiment(ds, unique("unrelated"));

    const all = await post<{ experiments: Experiment[] }>(ds, "experiments/search", { max_results: 1000, filter: `name LIKE '${prefix}-%'`, view_type: "ACTIVE_ONLY" });
    expect(all.status).toBe(200);
    expect(all.json.experiments.map((e) => e.experiment_id).sort()).toEqual([...ids].sort());

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await post<{ experiments: Experiment[]; next_page_token?: string }>(ds, "experiments/search", {
        max_results: 2, filter: `name LIKE '${prefix}-%'`, ...(token ? { page_token: token } : {}),
      });
      expect(page.status).toBe(200);
      expect(page.json.experiments.length).toBeLessThanOrEqual(2);
      seen.push(...page.json.experiments.map((e) => e.experiment_id));
      token = page.json.next_page_token;
      pages++;
    } while (token && pages < 10);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...ids].sort());

    // The GET form the UI and older clients use.
    const viaGet = await get<{ experiments: Experiment[] }>(ds, "experiments/search", { filter: `name = '${prefix}-3'`, max_results: 10 });
    expect(viaGet.json.experiments.map((e) => e.experiment_id)).toEqual([ids[3]]);

    const deleted = await post(mle, "experiments/delete", { experiment_id: ids[0] });
    expect(deleted.status).toBe(200);
    const active = await post<{ experiments: Experiment[] }>(ds, "experiments/search", { filter: `name LIKE '${prefix}-%'`, view_type: "ACTIVE_ONLY" });
    expect(active.json.experiments.map((e) => e.experiment_id)).not.toContain(ids[0]);
    const onlyDeleted = await post<{ experiments: Experiment[] }>(ds, "experiments/search", { filter: `name LIKE '${prefix}-%'`, view_type: "DELETED_ONLY" });
    expect(onlyDeleted.json.experiments.map((e) => e.experiment_id)).toEqual([ids[0]]);
    const everything = await post<{ experiments: Experiment[] }>(ds, "experiments/search", { filter: `name LIKE '${prefix}-%'`, view_type: "ALL" });
    expect(everything.json.experiments).toHaveLength(5);
  });

  it("limits max_results and refuses bad page tokens and filters", async () => {
    expect((await post(ds, "experiments/search", { max_results: 50001 })).status).toBe(400);
    expect((await post(ds, "experiments/search", { max_results: 0 })).status).toBe(400);
    expect((await post(ds, "experiments/search", { max_results: 50000 })).status).toBe(200);
    const badToken = await post<ErrorBody>(ds, "experiments/search", { page_token: "not-a-token" });
    expect(badToken.status).toBe(400);
    expect(badToken.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect((await post(ds, "experiments/search", { filter: "name LIKE 'a' OR 1=1" })).status).toBe(400);
  });

  it("renames; a clash with another experiment of the team is refused", async () => {
    const id = await createExperiment(ds, unique("old"));
    const taken = unique("taken");
    await createExperiment(ds, taken);
    const newName = unique("new");
    expect((await post(ds, "experiments/update", { experiment_id: id, new_name: newName })).status).toBe(200);
    const got = await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: id });
    expect(got.json.experiment.name).toBe(newName);
    const clash = await post<ErrorBody>(ds, "experiments/update", { experiment_id: id, new_name: taken });
    expect(clash.status).toBe(400);
    expect(clash.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    expect((await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: id })).json.experiment.name).toBe(newName);
  });

  it("delete needs ml_engineer or above; deleting archives the runs, restoring brings them back", async () => {
    const id = await createExperiment(ds, unique("lifecycle"));
    const run = await createRun(ds, id);

    const denied = await post<ErrorBody>(ds, "experiments/delete", { experiment_id: id });
    expect(denied.status).toBe(403);
    expect(denied.json.error_code).toBe("PERMISSION_DENIED");
    expect((await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: id })).json.experiment.lifecycle_stage).toBe("active");

    expect((await post(mle, "experiments/delete", { experiment_id: id })).status).toBe(200);
    expect((await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: id })).json.experiment.lifecycle_stage).toBe("deleted");
    expect((await getRun(ds, run.run_id)).info.lifecycle_stage).toBe("deleted");
    // Logging into a run of a deleted experiment is refused.
    expect((await post(ds, "runs/log-metric", { run_id: run.run_id, key: "m", value: 1, timestamp: Date.now(), step: 0 })).status).toBe(400);
    // New runs cannot be created in it.
    expect((await post(ds, "runs/create", { experiment_id: id })).status).toBe(400);

    expect((await post(ds, "experiments/restore", { experiment_id: id })).status).toBe(403);
    expect((await post(mle, "experiments/restore", { experiment_id: id })).status).toBe(200);
    expect((await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: id })).json.experiment.lifecycle_stage).toBe("active");
    expect((await getRun(ds, run.run_id)).info.lifecycle_stage).toBe("active");
  });

  it("sets and deletes experiment tags", async () => {
    const id = await createExperiment(ds, unique("tags"));
    expect((await post(ds, "experiments/set-experiment-tag", { experiment_id: id, key: "owner", value: "probe" })).status).toBe(200);
    expect((await post(ds, "experiments/set-experiment-tag", { experiment_id: id, key: "owner", value: "probe2" })).status).toBe(200);
    let exp = (await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: id })).json.experiment;
    expect(exp.tags).toEqual([{ key: "owner", value: "probe2" }]);
    expect((await post(ds, "experiments/delete-experiment-tag", { experiment_id: id, key: "owner" })).status).toBe(200);
    exp = (await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: id })).json.experiment;
    expect(exp.tags).toEqual([]);
    const again = await post<ErrorBody>(ds, "experiments/delete-experiment-tag", { experiment_id: id, key: "owner" });
    expect(again.status).toBe(404);
    expect((await post(ds, "experiments/set-experiment-tag", { experiment_id: id, key: "../x", value: "v" })).status).toBe(400);
  });
});

describe("runs", () => {
  it("creates a run in the team's Default experiment for experiment_id 0", async () => {
    const a = await createRun(ds, "0", { run_name: "in-default" });
    const b = await createRun(ds, "0");
    expect(a.experiment_id).toBe(b.experiment_id);
    const exp = (await get<{ experiment: Experiment }>(ds, "experiments/get", { experiment_id: a.experiment_id })).json.experiment;
    expect(exp).toMatchObject({ name: "Default", team: "churn", artifact_location: `mlflow-artifacts:/${a.experiment_id}` });
    // fraud's Default is its own.
    const f = await createRun(dsFraud, "0");
    expect(f.experiment_id).not.toBe(a.experiment_id);
  });

  it("creates with run_name and tags, and links a parent run via mlflow.parentRunId", async () => {
    const exp = await createExperiment(ds, unique("runs"));
    const parent = await createRun(ds, exp, { run_name: "parent", tags: [{ key: "mlflow.user", value: "root" }, { key: "stage", value: "hpo" }] });
    expect(parent).toMatchObject({ run_name: "parent", status: "RUNNING", lifecycle_stage: "active", experiment_id: exp, user_id: "root" });
    expect(parent.artifact_uri).toBe(`mlflow-artifacts:/${exp}/${parent.run_id}/artifacts`);
    const child = await createRun(ds, exp, { run_name: "child", tags: [{ key: "mlflow.parentRunId", value: parent.run_id }] });
    const got = await getRun(ds, child.run_id);
    expect(tagValue(got.data.tags, "mlflow.parentRunId")).toBe(parent.run_id);
    expect(tagValue(got.data.tags, "mlflow.runName")).toBe("child");
    const p = await getRun(ds, parent.run_id);
    expect(tagValue(p.data.tags, "stage")).toBe("hpo");

    const children = await post<{ runs: Run[] }>(ds, "runs/search", { experiment_ids: [exp], filter: `tags.mlflow.parentRunId = '${parent.run_id}'` });
    expect(children.json.runs.map((r) => r.info.run_id)).toEqual([child.run_id]);

    // A generated name when none is given.
    const anon = await createRun(ds, exp);
    expect(anon.run_name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    // An unknown parent is refused.
    expect((await post(ds, "runs/create", { experiment_id: exp, tags: [{ key: "mlflow.parentRunId", value: "f".repeat(32) }] })).status).toBe(400);
  });

  it("answers 404 for an unknown run and 400 for a malformed id", async () => {
    const missing = await get<ErrorBody>(ds, "runs/get", { run_id: "0".repeat(32) });
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect((await get(ds, "runs/get", { run_id: "nope" })).status).toBe(400);
  });

  it("updates status, end_time and run_name", async () => {
    const exp = await createExperiment(ds, unique("update"));
    const run = await createRun(ds, exp, { run_name: "before" });
    const end = Date.now() + 1000;
    const res = await post<{ run_info: RunInfo }>(ds, "runs/update", { run_uuid: run.run_id, status: "FINISHED", end_time: end, run_id: run.run_id, run_name: "after" });
    expect(res.status).toBe(200);
    expect(res.json.run_info).toMatchObject({ status: "FINISHED", end_time: end, run_name: "after" });
    const got = await getRun(ds, run.run_id);
    expect(got.info).toMatchObject({ status: "FINISHED", end_time: end, run_name: "after" });
    expect(tagValue(got.data.tags, "mlflow.runName")).toBe("after");
    expect((await post(ds, "runs/update", { run_id: run.run_id, status: "DONE" })).status).toBe(400);
  });

  it("deletes and restores a run", async () => {
    const exp = await createExperiment(ds, unique("run-delete"));
    const run = await createRun(ds, exp);
    expect((await post(ds, "runs/delete", { run_id: run.run_id })).status).toBe(200);
    expect((await getRun(ds, run.run_id)).info.lifecycle_stage).toBe("deleted");
    // One lookup per named experiment: at most 100 per request.
    const tooMany = await post<ErrorBody>(ds, "runs/search", { experiment_ids: Array.from({ length: 101 }, (_, i) => String(i + 1)) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.message).toContain("at most 100 experiments");
    const active = await post<{ runs?: Run[] }>(ds, "runs/search", { experiment_ids: [exp] });
    expect(active.json.runs ?? []).toEqual([]);
    const deleted = await post<{ runs: Run[] }>(ds, "runs/search", { experiment_ids: [exp], run_view_type: "DELETED_ONLY" });
    expect(deleted.json.runs.map((r) => r.info.run_id)).toEqual([run.run_id]);
    expect((await post(ds, "runs/set-tag", { run_id: run.run_id, key: "k", value: "v" })).status).toBe(400);
    expect((await post(ds, "runs/restore", { run_id: run.run_id })).status).toBe(200);
    expect((await getRun(ds, run.run_id)).info.lifecycle_stage).toBe("active");
  });

  it("sets and deletes run tags", async () => {
    const exp = await createExperiment(ds, unique("run-tags"));
    const run = await createRun(ds, exp);
    expect((await post(ds, "runs/set-tag", { run_uuid: run.run_id, key: "tmp", value: "x", run_id: run.run_id })).status).toBe(200);
    expect(tagValue((await getRun(ds, run.run_id)).data.tags, "tmp")).toBe("x");
    expect((await post(ds, "runs/set-tag", { run_id: run.run_id, key: "mlflow.runName", value: "renamed" })).status).toBe(200);
    expect((await getRun(ds, run.run_id)).info.run_name).toBe("renamed");
    expect((await post(ds, "runs/delete-tag", { run_id: run.run_id, key: "tmp" })).status).toBe(200);
    expect(tagValue((await getRun(ds, run.run_id)).data.tags, "tmp")).toBeUndefined();
    // mlflow.set_tags() sends a log-batch: a run name set there renames the run too.
    expect((await post(ds, "runs/log-batch", { run_id: run.run_id, tags: [{ key: "mlflow.runName", value: "batch-name" }] })).status).toBe(200);
    const renamed = await getRun(ds, run.run_id);
    expect(renamed.info.run_name).toBe("batch-name");
    expect(tagValue(renamed.data.tags, "mlflow.runName")).toBe("batch-name");
    const byName = await post<{ runs: Run[] }>(ds, "runs/search", { experiment_ids: [exp], filter: "attributes.run_name = 'batch-name'" });
    expect(byName.json.runs.map((r) => r.info.run_id)).toEqual([run.run_id]);
    const again = await post<ErrorBody>(ds, "runs/delete-tag", { run_id: run.run_id, key: "tmp" });
    expect(again.status).toBe(404);
    expect((await post(ds, "runs/set-tag", { run_id: run.run_id, key: "k", value: "v".repeat(8001) })).status).toBe(400);
  });
});

describe("logging", () => {
  let exp = "";
  beforeAll(async () => {
    exp = await createExperiment(ds, unique("logging"));
  });

  it("log-parameter: the same value twice is fine, a different value is INVALID_PARAMETER_VALUE and changes nothing", async () => {
    const run = await createRun(ds, exp);
    const body = { run_uuid: run.run_id, key: "lr", value: "0.01", run_id: run.run_id };
    expect((await post(ds, "runs/log-parameter", body)).status).toBe(200);
    expect((await post(ds, "runs/log-parameter", body)).status).toBe(200);
    const changed = await post<ErrorBody>(ds, "runs/log-parameter", { ...body, value: "0.02" });
    expect(changed.status).toBe(400);
    expect(changed.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect((await getRun(ds, run.run_id)).data.params).toEqual([{ key: "lr", value: "0.01" }]);
    expect((await post(ds, "runs/log-parameter", { run_id: run.run_id, key: "big", value: "x".repeat(6001) })).status).toBe(400);
    expect((await post(ds, "runs/log-parameter", { run_id: run.run_id, key: "ok", value: "x".repeat(6000) })).status).toBe(200);
  });

  it("log-metric accepts Python's bare NaN/Infinity tokens and returns them as strings", async () => {
    const run = await createRun(ds, exp);
    const ts = Date.now();
    for (const [key, token] of [["nan", "NaN"], ["inf", "Infinity"], ["ninf", "-Infinity"]] as const) {
      const body = `{"run_uuid": "${run.run_id}", "key": "${key}", "value": ${token}, "timestamp": ${ts}, "step": 0, "run_id": "${run.run_id}"}`;
      const res = await mlflow(ds, "POST", "runs/log-metric", { body });
      expect(res.status, `${key}: ${res.text}`).toBe(200);
    }
    // And inside a batch.
    const batch = `{"run_id": "${run.run_id}", "metrics": [{"key": "b", "value": NaN, "timestamp": ${ts}, "step": 1}, {"key": "b", "value": -Infinity, "timestamp": ${ts}, "step": 0}]}`;
    expect((await mlflow(ds, "POST", "runs/log-batch", { body: batch })).status).toBe(200);

    const got = await getRun(ds, run.run_id);
    const value = (key: string) => got.data.metrics.find((m) => m.key === key)?.value;
    expect(value("nan")).toBe("NaN");
    expect(value("inf")).toBe("Infinity");
    expect(value("ninf")).toBe("-Infinity");
    expect(value("b")).toBe("NaN");
    const history = await get<{ metrics: Metric[] }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "b" });
    expect(history.json.metrics.map((m) => [m.step, m.value])).toEqual([[0, "-Infinity"], [1, "NaN"]]);
    // The raw body is valid for clients: a JSON parser reads it.
    expect(history.text).toContain('"-Infinity"');
    // A string that only looks like NaN inside a string stays a string (a tag).
    const tag = `{"run_id": "${run.run_id}", "key": "note", "value": "NaN and Infinity"}`;
    expect((await mlflow(ds, "POST", "runs/set-tag", { body: tag })).status).toBe(200);
    expect(tagValue((await getRun(ds, run.run_id)).data.tags, "note")).toBe("NaN and Infinity");
  });

  it("refuses malformed metric values and JSON", async () => {
    const run = await createRun(ds, exp);
    expect((await post(ds, "runs/log-metric", { run_id: run.run_id, key: "m", value: "abc", timestamp: 1, step: 0 })).status).toBe(400);
    expect((await mlflow(ds, "POST", "runs/log-metric", { body: `{"run_id": "${run.run_id}", "key": "m", "value": Nope}` })).status).toBe(400);
    expect((await mlflow(ds, "POST", "runs/log-metric", { body: `{"run_id": "${run.run_id}", "key": "m", "value": 1` })).status).toBe(400);
    expect((await getRun(ds, run.run_id)).data.metrics).toEqual([]);
  });

  it("latest metric is the highest step, then the latest timestamp", async () => {
    const run = await createRun(ds, exp);
    const log = (value: number, step: number, timestamp: number) => post(ds, "runs/log-metric", { run_id: run.run_id, key: "loss", value, step, timestamp });
    await log(0.5, 5, 1000);
    await log(0.9, 2, 9000); // later in time but lower step: not latest
    await log(0.4, 5, 2000); // same step, later timestamp: latest
    await log(0.3, 5, 1500); // same step, earlier timestamp: not latest
    let latest = (await getRun(ds, run.run_id)).data.metrics.find((m) => m.key === "loss");
    expect(latest).toMatchObject({ value: 0.4, step: 5, timestamp: 2000 });
    // Within one batch the same rule applies.
    await post(ds, "runs/log-batch", {
      run_id: run.run_id,
      metrics: [{ key: "loss", value: 0.1, step: 7, timestamp: 10 }, { key: "loss", value: 0.2, step: 6, timestamp: 99999 }],
    });
    latest = (await getRun(ds, run.run_id)).data.metrics.find((m) => m.key === "loss");
    expect(latest).toMatchObject({ value: 0.1, step: 7, timestamp: 10 });
  });

  it("latest metric: at the same step and timestamp the larger value wins, whether logged in one batch or in two calls", async () => {
    const oneBatch = await createRun(ds, exp);
    await post(ds, "runs/log-batch", { run_id: oneBatch.run_id, metrics: [{ key: "m", value: 0.5, step: 3, timestamp: 100 }, { key: "m", value: 0.3, step: 3, timestamp: 100 }] });
    const twoCalls = await createRun(ds, exp);
    await post(ds, "runs/log-metric", { run_id: twoCalls.run_id, key: "m", value: 0.5, step: 3, timestamp: 100 });
    await post(ds, "runs/log-metric", { run_id: twoCalls.run_id, key: "m", value: 0.3, step: 3, timestamp: 100 });
    for (const run of [oneBatch, twoCalls]) {
      expect((await getRun(ds, run.run_id)).data.metrics).toEqual([{ key: "m", value: 0.5, step: 3, timestamp: 100 }]);
    }
    const found = await post<{ runs: Run[] }>(ds, "runs/search", { experiment_ids: [exp], filter: "metrics.m = 0.5" });
    expect(found.json.runs.map((r) => r.info.run_id).sort()).toEqual([oneBatch.run_id, twoCalls.run_id].sort());
  });

  it("logging an identical metric point again (a client retry) stores it once, as MLflow does", async () => {
    const run = await createRun(ds, exp);
    const point = { run_id: run.run_id, key: "loss", value: 0.25, timestamp: 1234, step: 2 };
    expect((await post(ds, "runs/log-metric", point)).status).toBe(200);
    expect((await post(ds, "runs/log-metric", point)).status).toBe(200);
    const batch = { run_id: run.run_id, metrics: [{ key: "loss", value: 0.25, timestamp: 1234, step: 2 }, { key: "loss", value: 0.5, timestamp: 1234, step: 2 }, { key: "loss", value: 0.5, timestamp: 1234, step: 2 }] };
    expect((await post(ds, "runs/log-batch", batch)).status).toBe(200);
    expect((await post(ds, "runs/log-batch", batch)).status).toBe(200);
    const nan = `{"run_id": "${run.run_id}", "key": "loss", "value": NaN, "timestamp": 1234, "step": 3}`;
    expect((await mlflow(ds, "POST", "runs/log-metric", { body: nan })).status).toBe(200);
    expect((await mlflow(ds, "POST", "runs/log-metric", { body: nan })).status).toBe(200);
    const history = await get<{ metrics: Metric[] }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "loss" });
    expect(history.json.metrics.map((m) => [m.step, m.value]).sort()).toEqual([[2, 0.25], [2, 0.5], [3, "NaN"]]);
  });

  it("log-batch stores params, metrics and tags together", async () => {
    const run = await createRun(ds, exp);
    const ts = Date.now();
    const res = await post(ds, "runs/log-batch", {
      run_id: run.run_id,
      metrics: [{ key: "acc", value: 0.8, timestamp: ts, step: 2, run_id: run.run_id }, { key: "f1", value: 0.7, timestamp: ts, step: 2 }],
      params: [{ key: "epochs", value: "3" }, { key: "optimizer", value: "adam" }],
      tags: [{ key: "team", value: "probe" }],
    });
    expect(res.status).toBe(200);
    const got = await getRun(ds, run.run_id);
    expect(got.data.params).toEqual([{ key: "epochs", value: "3" }, { key: "optimizer", value: "adam" }]);
    expect(got.data.metrics.map((m) => [m.key, m.value, m.step])).toEqual([["acc", 0.8, 2], ["f1", 0.7, 2]]);
    expect(tagValue(got.data.tags, "team")).toBe("probe");
  });

  it("log-batch enforces MLflow's limits and stores nothing from a refused batch", async () => {
    const run = await createRun(ds, exp);
    const metric = (i: number) => ({ key: `m${i % 5}`, value: i, timestamp: 1, step: i });
    const kv = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: "v" }));
    const refused = [
      { metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) },
      { params: kv("p", 101) },
      { tags: kv("t", 101) },
      { metrics: Array.from({ length: 901 }, (_, i) => metric(i)), params: kv("p", 50), tags: kv("t", 50) },
      { params: [{ key: "k".repeat(251), value: "v" }] },
      { tags: [{ key: "t".repeat(251), value: "v" }] },
      { metrics: [{ key: "m".repeat(251), value: 1, timestamp: 1, step: 0 }] },
      { params: [{ key: "p", value: "x".repeat(6001) }] },
      { params: [{ key: "bad;key", value: "v" }] },
      { tags: [{ key: "bad$key", value: "v" }] },
      { metrics: [{ key: "../escape", value: 1, timestamp: 1, step: 0 }] },
      { params: [{ key: "/abs", value: "v" }] },
    ];
    for (const batch of refused) {
      const res = await post<ErrorBody>(ds, "runs/log-batch", { run_id: run.run_id, ...batch });
      expect(res.status, JSON.stringify(batch).slice(0, 120)).toBe(400);
      expect(res.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    }
    // At the limits exactly is fine.
    const ok = await post(ds, "runs/log-batch", { run_id: run.run_id, metrics: Array.from({ length: 800 }, (_, i) => metric(i)), params: kv("p", 100), tags: kv("t", 100) });
    expect(ok.status).toBe(200);
    expect((await post(ds, "runs/log-batch", { run_id: run.run_id, metrics: Array.from({ length: 1000 }, (_, i) => metric(i + 1000)) })).status).toBe(200);
    const got = await getRun(ds, run.run_id);
    expect(got.data.params).toHaveLength(100);
    expect(got.data.tags.filter((t) => /^t\d+$/.test(t.key))).toHaveLength(100);
    const history = await get<{ metrics: Metric[] }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "m0" });
    expect(history.json.metrics).toHaveLength(360);
  });

  it("log-batch is all-or-nothing: one conflicting param stores none of its metrics or tags", async () => {
    const run = await createRun(ds, exp);
    expect((await post(ds, "runs/log-parameter", { run_id: run.run_id, key: "lr", value: "0.01" })).status).toBe(200);
    const res = await post<ErrorBody>(ds, "runs/log-batch", {
      run_id: run.run_id,
      metrics: [{ key: "acc", value: 0.9, timestamp: 1, step: 0 }],
      params: [{ key: "aaa", value: "new" }, { key: "lr", value: "0.02" }],
      tags: [{ key: "batch", value: "1" }],
    });
    expect(res.status).toBe(400);
    expect(res.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    const got = await getRun(ds, run.run_id);
    expect(got.data.params).toEqual([{ key: "lr", value: "0.01" }]);
    expect(got.data.metrics).toEqual([]);
    expect(tagValue(got.data.tags, "batch")).toBeUndefined();
    const history = await get<{ metrics: Metric[] }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "acc" });
    expect(history.json.metrics).toEqual([]);
    // Two different values for one key inside one batch: refused too.
    expect((await post(ds, "runs/log-batch", { run_id: run.run_id, params: [{ key: "x", value: "1" }, { key: "x", value: "2" }] })).status).toBe(400);
    expect((await getRun(ds, run.run_id)).data.params).toEqual([{ key: "lr", value: "0.01" }]);
  });

  it("log-inputs: datasets show in get and are searchable by context", async () => {
    const e = await createExperiment(ds, unique("inputs"));
    const train = await createRun(ds, e);
    const evalRun = await createRun(ds, e);
    const dataset = { name: "churn-2024", digest: "abc123", source_type: "local", source: '{"uri": "/data/churn.csv"}', schema: '{"mlflow_colspec": []}' };
    const logInputs = (runId: string, context: string) =>
      post(ds, "runs/log-inputs", { run_id: runId, datasets: [{ tags: [{ key: "mlflow.data.context", value: context }], dataset }] });
    expect((await logInputs(train.run_id, "training")).status).toBe(200);
    expect((await logInputs(evalRun.run_id, "eval")).status).toBe(200);

    const got = await getRun(ds, train.run_id);
    expect(got.inputs.dataset_inputs).toEqual([{ tags: [{ key: "mlflow.data.context", value: "training" }], dataset: expect.objectContaining({ name: "churn-2024", digest: "abc123" }) }]);

    const found = await post<{ runs: Run[] }>(ds, "runs/search", { experiment_ids: [e], filter: "datasets.context = 'training'" });
    expect(found.status).toBe(200);
    expect(found.json.runs.map((r) => r.info.run_id)).toEqual([train.run_id]);
    const byName = await post<{ runs: Run[] }>(ds, "runs/search", { experiment_ids: [e], filter: "datasets.name = 'churn-2024'" });
    expect(byName.json.runs).toHaveLength(2);
  });

  it("log-model appends to the mlflow.log-model.history tag", async () => {
    const run = await createRun(ds, exp);
    const model = (path: string) => JSON.stringify({ run_id: run.run_id, artifact_path: path, utc_time_created: "2026-01-01 00:00:00.000000", flavors: { python_function: {} } });
    expect((await post(ds, "runs/log-model", { run_id: run.run_id, model_json: model("model") })).status).toBe(200);
    expect((await post(ds, "runs/log-model", { run_id: run.run_id, model_json: model("model2") })).status).toBe(200);
    const history = JSON.parse(tagValue((await getRun(ds, run.run_id)).data.tags, "mlflow.log-model.history") ?? "[]") as { artifact_path: string }[];
    expect(history.map((h) => h.artifact_path)).toEqual(["model", "model2"]);
    expect((await post(ds, "runs/log-model", { run_id: run.run_id, model_json: "not json" })).status).toBe(400);
    expect((await post(ds, "runs/log-model", { run_id: run.run_id, model_json: "{}" })).status).toBe(400);
  });
});

describe("search runs", () => {
  let exp = "";
  const byName: Record<string, string> = {};
  beforeAll(async () => {
    exp = await createExperiment(ds, unique("search-runs"));
    const specs = [
      { name: "a", acc: 0.9, lr: "0.01", tag: "x", start: 1000 },
      { name: "b", acc: 0.5, lr: "0.1", tag: "y", start: 2000 },
      { name: "c", acc: 0.7, lr: "0.01", tag: "y", start: 3000 },
      { name: "d", acc: undefined, lr: "0.001", tag: "x", start: 4000 },
    ];
    for (const s of specs) {
      const run = await createRun(ds, exp, { run_name: s.name, start_time: s.start });
      byName[s.name] = run.run_id;
      await post(ds, "runs/log-batch", {
        run_id: run.run_id,
        metrics: s.acc === undefined ? [] : [{ key: "acc", value: s.acc, timestamp: 1, step: 0 }],
        params: [{ key: "lr", value: s.lr }],
        tags: [{ key: "kind", value: s.tag }],
      });
    }
    await post(ds, "runs/update", { run_id: byName.b, status: "FINISHED" });
  });

  const search = (body: Record<string, unknown>) => post<{ runs?: Run[]; next_page_token?: string } & Partial<ErrorBody>>(ds, "runs/search", { experiment_ids: [exp], run_view_type: "ACTIVE_ONLY", ...body });
  const names = (runs: Run[] | undefined) => (runs ?? []).map((r) => r.info.run_name);

  it("filters with AND, OR and parentheses over metrics, params, tags and attributes", async () => {
    expect(names((await search({ filter: "metrics.acc > 0.6 and params.lr = '0.01'", order_by: ["metrics.acc DESC"] })).json.runs)).toEqual(["a", "c"]);
    expect(names((await search({ filter: "tags.kind = 'x' OR metrics.acc < 0.6", order_by: ["attributes.run_name ASC"] })).json.runs)).toEqual(["a", "b", "d"]);
    expect(names((await search({ filter: "(tags.kind = 'x' OR params.lr = '0.1') AND metrics.acc >= 0.5", order_by: ["run_name"] })).json.runs)).toEqual(["a", "b"]);
    expect(names((await search({ filter: "attributes.status = 'FINISHED'" })).json.runs)).toEqual(["b"]);
    expect(names((await search({ filter: "params.lr IN ('0.1', '0.001')", order_by: ["run_name"] })).json.runs)).toEqual(["b", "d"]);
    expect(names((await search({ filter: "attributes.run_name LIKE 'c%'" })).json.runs)).toEqual(["c"]);
    expect(names((await search({ filter: "metrics.acc IS NULL" })).json.runs)).toEqual(["d"]);
  });

  it("orders by a metric DESC (and ASC) with runs missing it last, then start_time DESC by default", async () => {
    expect(names((await search({ order_by: ["metrics.acc DESC"] })).json.runs)).toEqual(["a", "c", "b", "d"]);
    expect(names((await search({ order_by: ["metrics.acc ASC"] })).json.runs)).toEqual(["b", "c", "a", "d"]);
    expect(names((await search({})).json.runs)).toEqual(["d", "c", "b", "a"]);
    expect(names((await search({ order_by: ["params.lr ASC", "attributes.start_time DESC"] })).json.runs)).toEqual(["d", "c", "a", "b"]);
  });

  it("orders NaN metrics after every number and before runs without the metric, in both directions", async () => {
    const e = await createExperiment(ds, unique("nan-order"));
    const ids: Record<string, string> = {};
    for (const [name, value] of [["high", "0.9"], ["nan", "NaN"], ["low", "0.5"], ["none", null]] as const) {
      const run = await createRun(ds, e, { run_name: name });
      ids[name] = run.run_id;
      if (value !== null) {
        const body = `{"run_id": "${run.run_id}", "key": "acc", "value": ${value}, "timestamp": 1, "step": 0}`;
        expect((await mlflow(ds, "POST", "runs/log-metric", { body })).status).toBe(200);
      }
    }
    const order = async (clause: string) => ((await post<{ runs: Run[] }>(ds, "runs/search", { experiment_ids: [e], order_by: [clause] })).json.runs).map((r) => r.info.run_name);
    expect(await order("metrics.acc DESC")).toEqual(["high", "low", "nan", "none"]);
    expect(await order("metrics.acc ASC")).toEqual(["low", "high", "nan", "none"]);
  });

  it("pages with page_token and limits max_results", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 3; i++) {
      const page = await search({ max_results: 3, order_by: ["metrics.acc DESC"], ...(token ? { page_token: token } : {}) });
      expect(page.status).toBe(200);
      seen.push(...names(page.json.runs));
      token = page.json.next_page_token;
      if (!token) break;
    }
    expect(seen).toEqual(["a", "c", "b", "d"]);
    expect(token).toBeUndefined();

    expect((await search({})).json.runs).toHaveLength(4); // default 1000
    expect((await search({ max_results: 50000 })).status).toBe(200);
    const tooMany = await search({ max_results: 50001 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect((await search({ max_results: 0 })).status).toBe(400);
    expect((await search({ page_token: "garbage" })).status).toBe(400);
  });

  it("returns at most 1000 runs by default, the rest on the next page", async () => {
    const e = await createExperiment(ds, unique("many-runs"));
    const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const ids = Array.from({ length: 1001 }, (_, i) => `${i.toString(16).padStart(8, "0")}${"a".repeat(24)}`);
    await db().insert(runs).values(ids.map((id, i) => ({
      id, experimentId: Number(e), teamId: team!.id, name: `bulk-${i}`, status: "FINISHED" as const, startTime: 1_000_000 + i, userId: "bulk", artifactUri: `mlflow-artifacts:/${e}/${id}/artifacts`,
    })));
    const first = await post<{ runs: Run[]; next_page_token?: string }>(ds, "runs/search", { experiment_ids: [e] });
    expect(first.status).toBe(200);
    expect(first.json.runs).toHaveLength(1000);
    expect(first.json.runs[0]!.info.run_name).toBe("bulk-1000");
    expect(first.json.next_page_token).toBeDefined();
    const second = await post<{ runs: Run[]; next_page_token?: string }>(ds, "runs/search", { experiment_ids: [e], page_token: first.json.next_page_token });
    expect(second.json.runs.map((r) => r.info.run_name)).toEqual(["bulk-0"]);
    expect(second.json.next_page_token).toBeUndefined();
  });

  it("run_view_type selects active, deleted or all runs", async () => {
    const e = await createExperiment(ds, unique("view-type"));
    const keep = await createRun(ds, e);
    const drop = await createRun(ds, e);
    await post(ds, "runs/delete", { run_id: drop.run_id });
    const ids = async (view: string) => ((await post<{ runs?: Run[] }>(ds, "runs/search", { experiment_ids: [e], run_view_type: view })).json.runs ?? []).map((r) => r.info.run_id).sort();
    expect(await ids("ACTIVE_ONLY")).toEqual([keep.run_id]);
    expect(await ids("DELETED_ONLY")).toEqual([drop.run_id]);
    expect(await ids("ALL")).toEqual([keep.run_id, drop.run_id].sort());
    expect((await post(ds, "runs/search", { experiment_ids: [e], run_view_type: "SOME" })).status).toBe(400);
  });

  it("refuses a malformed filter with a message pointing at the position", async () => {
    const filter = "metrics.acc > 0 OR 1=1 --";
    const res = await search({ filter });
    expect(res.status).toBe(400);
    expect(res.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(res.json.message).toContain("position 19");
    expect(res.json.message).toContain(`${filter}\n${" ".repeat(19)}^`);
    const quote = await search({ filter: "params.lr = '0.01" });
    expect(quote.status).toBe(400);
    expect(quote.json.message).toMatch(/position 12/);
    expect((await search({ order_by: ["metrics.acc; drop table runs"] })).status).toBe(400);
    expect((await post(ds, "runs/search", { experiment_ids: [] })).status).toBe(400);
  });
});

describe("metric history", () => {
  it("get-history pages through a series in step order and caps max_results at 25000", async () => {
    const exp = await createExperiment(ds, unique("history"));
    const run = await createRun(ds, exp);
    await post(ds, "runs/log-batch", { run_id: run.run_id, metrics: Array.from({ length: 25 }, (_, i) => ({ key: "loss", value: 1 / (i + 1), timestamp: 1000 + i, step: 24 - i })) });
    const steps: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await get<{ metrics: Metric[]; next_page_token?: string }>(ds, "metrics/get-history", { run_uuid: run.run_id, run_id: run.run_id, metric_key: "loss", max_results: 10, page_token: token });
      expect(page.status).toBe(200);
      steps.push(...page.json.metrics.map((m) => m.step));
      token = page.json.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(steps).toEqual(Array.from({ length: 25 }, (_, i) => i));

    const full = await get<{ metrics: Metric[] }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "loss", max_results: 25000 });
    expect(full.json.metrics).toHaveLength(25);
    const over = await get<ErrorBody>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "loss", max_results: 25001 });
    expect(over.status).toBe(400);
    expect(over.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    const none = await get<{ metrics: Metric[] }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "nothing" });
    expect(none.status).toBe(200);
    expect(none.json.metrics).toEqual([]);
    expect((await get(ds, "metrics/get-history", { run_id: "0".repeat(32), metric_key: "loss" })).status).toBe(404);
  });

  it("get-history pages by the last point's (step, timestamp, value): ties, NaN and the infinities survive page ends, values exact", async () => {
    const exp = await createExperiment(ds, unique("history-keyset"));
    const run = await createRun(ds, exp);
    // Same step and timestamp with different values (MLflow keeps each), the non-finite values, and a value whose
    // shortest text has 17 digits: every page boundary falls inside a tie at some page size below.
    const values = [0.5, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1 + 0.2, 1e-5, 1e300, 7];
    await db().insert(metrics).values(values.flatMap((value, i) => [
      { runId: run.run_id, key: "tie", value, step: Math.floor(i / 3), timestamp: 100 },
      { runId: run.run_id, key: "tie", value, step: Math.floor(i / 3), timestamp: 50 + i },
    ]));
    const expected = (await get<{ metrics: Metric[] }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "tie" })).json.metrics;
    expect(expected).toHaveLength(18);
    expect(expected.map((m) => m.value)).toContain("NaN");
    expect(expected.map((m) => m.value)).toContain(0.30000000000000004);
    expect(expected).toEqual([...expected].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp));
    for (const size of [1, 2, 3, 5, 17]) {
      const seen: Metric[] = [];
      let token: string | undefined;
      do {
        const page = await get<{ metrics: Metric[]; next_page_token?: string }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "tie", max_results: size, page_token: token });
        expect(page.status, page.text).toBe(200);
        expect(page.json.metrics.length).toBeLessThanOrEqual(size);
        seen.push(...page.json.metrics);
        token = page.json.next_page_token;
      } while (token);
      expect(seen, `pages of ${size}`).toEqual(expected);
    }
    // A token of the offset kind (what earlier versions issued) still pages on; a made-up one is refused.
    const legacy = Buffer.from(JSON.stringify({ offset: 16 })).toString("base64url");
    const rest = await get<{ metrics: Metric[]; next_page_token?: string }>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "tie", max_results: 10, page_token: legacy });
    expect(rest.json.metrics).toEqual(expected.slice(16));
    for (const bad of ["nope", Buffer.from(JSON.stringify({ after: [1, 2, "1; drop table metrics"] })).toString("base64url"), Buffer.from(JSON.stringify({ after: [1.5, 2, "1"] })).toString("base64url"), ...["1e999", "1e-400", "01", " 1"].map((v) => Buffer.from(JSON.stringify({ after: [1, 2, v] })).toString("base64url"))]) {
      const refused = await get<ErrorBody>(ds, "metrics/get-history", { run_id: run.run_id, metric_key: "tie", page_token: bad });
      expect(refused.status).toBe(400);
      expect(refused.json.message).toMatch(/page_token/);
    }
    // Another team's member does not read it, with or without a token.
    expect((await get(dsFraud, "metrics/get-history", { run_id: run.run_id, metric_key: "tie" })).status).toBe(404);
  });
});

describe("artifacts/list", () => {
  it("lists a run's artifacts relative to its root", async () => {
    const exp = await createExperiment(ds, unique("list"));
    const run = await createRun(ds, exp);
    expect((await artifacts(ds, "PUT", `${exp}/${run.run_id}/artifacts/model/MLmodel`, { body: "flavors: {}" })).status).toBe(200);
    expect((await artifacts(ds, "PUT", `${exp}/${run.run_id}/artifacts/notes.txt`, { body: "hello" })).status).toBe(200);
    const root = await get<{ root_uri: string; files: { path: string; is_dir: boolean; file_size?: number }[] }>(ds, "artifacts/list", { run_id: run.run_id });
    expect(root.status).toBe(200);
    expect(root.json.root_uri).toBe(`mlflow-artifacts:/${exp}/${run.run_id}/artifacts`);
    expect(root.json.files).toEqual([{ path: "model", is_dir: true }, { path: "notes.txt", is_dir: false, file_size: 5 }]);
    const sub = await get<{ files: { path: string }[] }>(ds, "artifacts/list", { run_id: run.run_id, path: "model" });
    expect(sub.json.files).toEqual([{ path: "model/MLmodel", is_dir: false, file_size: 11 }]);
    expect((await get(ds, "artifacts/list", { run_id: run.run_id, path: "../x" })).status).toBe(400);
  });
});

describe("MLflow 3 logged models", () => {
  it("creates, gets, searches by name, finalizes, tags, links run outputs", async () => {
    const exp = await createExperiment(ds, unique("models"));
    const run = await createRun(ds, exp);
    await post(ds, "runs/log-metric", { run_id: run.run_id, key: "acc", value: 0.9, timestamp: 1, step: 0 });
    const created = await post<{ model: { info: { model_id: string; status: string; artifact_uri: string; name: string; source_run_id: string; tags: KV[] }; data: { params: KV[]; metrics: Metric[] } } }>(
      ds, "logged-models",
      { experiment_id: exp, name: "clf", source_run_id: run.run_id, params: [{ key: "lr", value: "0.01" }], tags: [{ key: "mlflow.user", value: "root" }] },
    );
    expect(created.status).toBe(200);
    const info = created.json.model.info;
    expect(info.model_id).toMatch(/^m-[0-9a-f]{32}$/);
    expect(info).toMatchObject({ name: "clf", status: "LOGGED_MODEL_PENDING", source_run_id: run.run_id, artifact_uri: `mlflow-artifacts:/${exp}/models/${info.model_id}/artifacts` });
    expect(created.json.model.data.params).toEqual([{ key: "lr", value: "0.01" }]);
    await post(ds, "logged-models", { experiment_id: exp, name: "other" });

    const got = await get<{ model: { info: { model_id: string; tags: KV[] }; data: { metrics: Metric[] } } }>(ds, `logged-models/${info.model_id}`);
    expect(got.status).toBe(200);
    expect(got.json.model.info.tags).toEqual([{ key: "mlflow.user", value: "root" }]);
    expect(got.json.model.data.metrics.map((m) => m.key)).toEqual(["acc"]);

    const search = await post<{ models: { info: { model_id: string } }[] }>(ds, "logged-models/search", { experiment_ids: [exp], filter: "name = 'clf'" });
    expect(search.status).toBe(200);
    expect(search.json.models.map((m) => m.info.model_id)).toEqual([info.model_id]);
    const none = await post<{ models: unknown[] }>(ds, "logged-models/search", { experiment_ids: [exp], filter: "name = 'notes.txt'" });
    expect(none.json.models).toEqual([]);
    expect((await post(ds, "logged-models/search", { experiment_ids: [exp], filter: "name = 'x' OR 1=1" })).status).toBe(400);
    // Quoted values may contain the word AND.
    const sandwich = await post<{ model: { info: { model_id: string } } }>(ds, "logged-models", { experiment_id: exp, name: "bread and butter" });
    const andSearch = await post<{ models: { info: { model_id: string } }[] }>(ds, "logged-models/search", { experiment_ids: [exp], filter: "name = 'bread and butter' AND status = 'LOGGED_MODEL_PENDING'" });
    expect(andSearch.status, andSearch.text).toBe(200);
    expect(andSearch.json.models.map((m) => m.info.model_id)).toEqual([sandwich.json.model.info.model_id]);
    const likeSearch = await post<{ models: unknown[] }>(ds, "logged-models/search", { experiment_ids: [exp], filter: "name LIKE '%and%'" });
    expect(likeSearch.json.models).toHaveLength(1);

    const ready = await mlflow<{ model: { info: { status: string } } }>(ds, "PATCH", `logged-models/${info.model_id}`, { body: { model_id: info.model_id, status: "LOGGED_MODEL_READY" } });
    expect(ready.status).toBe(200);
    expect(ready.json.model.info.status).toBe("LOGGED_MODEL_READY");
    expect((await mlflow(ds, "PATCH", `logged-models/${info.model_id}`, { body: { status: "DONE" } })).status).toBe(400);

    expect((await mlflow(ds, "PATCH", `logged-models/${info.model_id}/tags`, { body: { tags: [{ key: "stage", value: "candidate" }, { key: "mlflow.user", value: "dana" }] } })).status).toBe(200);
    const tagged = await get<{ model: { info: { tags: KV[]; status: string } } }>(ds, `logged-models/${info.model_id}`);
    expect(tagged.json.model.info.tags).toEqual([{ key: "mlflow.user", value: "dana" }, { key: "stage", value: "candidate" }]);
    expect(tagged.json.model.info.status).toBe("LOGGED_MODEL_READY");
    expect((await mlflow(ds, "DELETE", `logged-models/${info.model_id}/tags/stage`)).status).toBe(200);
    expect((await get<{ model: { info: { tags: KV[] } } }>(ds, `logged-models/${info.model_id}`)).json.model.info.tags).toEqual([{ key: "mlflow.user", value: "dana" }]);

    expect((await post(ds, "runs/outputs", { run_id: run.run_id, models: [{ model_id: info.model_id, step: 0 }] })).status).toBe(200);
    expect((await getRun(ds, run.run_id)).outputs.model_outputs).toEqual([{ model_id: info.model_id, step: 0 }]);
    expect((await post(ds, "runs/outputs", { run_id: run.run_id, models: [{ model_id: `m-${"0".repeat(32)}`, step: 0 }] })).status).toBe(404);

    expect((await get(ds, `logged-models/m-${"0".repeat(32)}`)).status).toBe(404);
  });

  it("uploads and downloads model artifacts under <exp>/models/m-<id>/artifacts/", async () => {
    const exp = await createExperiment(ds, unique("model-art"));
    const created = await post<{ model: { info: { model_id: string } } }>(ds, "logged-models", { experiment_id: exp, name: "model" });
    const id = created.json.model.info.model_id;
    expect((await artifacts(ds, "PUT", `${exp}/models/${id}/artifacts/MLmodel`, { body: "artifact_path: model\n" })).status).toBe(200);
    expect((await artifacts(ds, "PUT", `${exp}/models/${id}/artifacts/data/model.pkl`, { body: new Uint8Array([1, 2, 3]) })).status).toBe(200);
    const down = await artifacts(ds, "GET", `${exp}/models/${id}/artifacts/MLmodel`);
    expect(down.status).toBe(200);
    expect(down.text).toBe("artifact_path: model\n");
    const listing = await artifacts<{ files: { path: string; is_dir: boolean }[] }>(ds, "GET", "", { query: { path: `${exp}/models/${id}/artifacts` } });
    expect(listing.json.files.map((f) => f.path)).toEqual(["MLmodel", "data"]);
    // The model's experiment id must match.
    const other = await createExperiment(ds, unique("model-art-other"));
    expect((await artifacts(ds, "GET", `${other}/models/${id}/artifacts/MLmodel`)).status).toBe(404);
  });

  it("deletes a logged model", async () => {
    const exp = await createExperiment(ds, unique("model-del"));
    const id = (await post<{ model: { info: { model_id: string } } }>(ds, "logged-models", { experiment_id: exp })).json.model.info.model_id;
    expect((await mlflow(ds, "DELETE", `logged-models/${id}`)).status).toBe(200);
    expect((await get(ds, `logged-models/${id}`)).status).toBe(404);
  });
});

describe("auth and routing", () => {
  it("answers 401 UNAUTHENTICATED without a token or with a bad one", async () => {
    const none = await post<ErrorBody>(null, "experiments/search", {});
    expect(none.status).toBe(401);
    expect(none.json.error_code).toBe("UNAUTHENTICATED");
    const bad = await mlflow<ErrorBody>(null, "POST", "experiments/search", { body: {}, headers: { authorization: "Bearer cairn_not-a-real-token" } });
    expect(bad.status).toBe(401);
    expect(bad.json.error_code).toBe("UNAUTHENTICATED");
    // Unauthenticated requests learn nothing about routing either.
    expect((await mlflow<ErrorBody>(null, "GET", "no/such/endpoint")).status).toBe(401);
  });

  it("accepts basic auth with the token as the password (MLFLOW_TRACKING_USERNAME/PASSWORD)", async () => {
    const basic = Buffer.from(`anyone:${ds}`).toString("base64");
    const res = await mlflow<{ experiments: Experiment[] }>(null, "POST", "experiments/search", { body: { max_results: 5 }, headers: { authorization: `Basic ${basic}` } });
    expect(res.status).toBe(200);
    expect(Array.isArray(res.json.experiments)).toBe(true);
    const wrong = Buffer.from(`anyone:cairn_${"x".repeat(43)}`).toString("base64");
    expect((await mlflow(null, "POST", "experiments/search", { body: {}, headers: { authorization: `Basic ${wrong}` } })).status).toBe(401);
  });

  it("answers 404 ENDPOINT_NOT_FOUND for an unknown endpoint and 405 for a wrong method", async () => {
    const unknown = await mlflow<ErrorBody>(ds, "POST", "experiments/frobnicate", { body: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error_code).toBe("ENDPOINT_NOT_FOUND");
    const wrong = await mlflow<ErrorBody>(ds, "GET", "runs/create");
    expect(wrong.status).toBe(405);
    expect(wrong.json.error_code).toBe("ENDPOINT_NOT_FOUND");
    expect((await mlflow(ds, "DELETE", "experiments/get")).status).toBe(405);
  });
});
