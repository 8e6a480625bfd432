// Concurrent writers on the same runs: no errors, no deadlocks, no lost points, a correct latest value.
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import type { ErrorBody, Experiment, Metric } from "../mlflow/test-client";
import { createExperiment, createRun, get, getRun, post } from "../mlflow/test-client";

const db = demoDatabase();
let token = "";
let exp = "";

beforeAll(async () => {
  token = await tokenFor(db(), DEMO.ds, "churn");
  exp = await createExperiment(token, `concurrency-${Date.now()}`);
});

describe("concurrent logging", () => {
  it("32 concurrent log-batch writers plus set-tag on 2 runs lose nothing", async () => {
    const runs = [(await createRun(token, exp)).run_id, (await createRun(token, exp)).run_id];
    const WRITERS = 32;
    const PER_WRITER = 4;
    const keys = ["acc", "loss", "lr"];
    const calls = Array.from({ length: WRITERS }, (_, w) => {
      const runId = runs[w % 2]!;
      const metrics = Array.from({ length: PER_WRITER }, (_, i) => {
        const step = w * PER_WRITER + i;
        // Keys in different orders per writer, the pattern that deadlocks unordered upserts.
        return keys.map((key) => ({ key, value: step / 1000, timestamp: 1_000_000 + step, step }));
      }).flat();
      if (w % 3 === 0) metrics.reverse();
      return [
        post(token, "runs/log-batch", { run_id: runId, metrics, params: [{ key: "shared", value: "same" }], tags: [{ key: "writer", value: String(w) }, { key: `w${w}`, value: "x" }] }),
        post(token, "runs/set-tag", { run_id: runId, key: "heartbeat", value: String(w) }),
      ];
    }).flat();
    const results = await Promise.all(calls);
    for (const r of results) expect(r.status, JSON.stringify(r.json)).toBe(200);

    for (const [index, runId] of runs.entries()) {
      const writers = Array.from({ length: WRITERS }, (_, w) => w).filter((w) => w % 2 === index);
      const expectedSteps = writers.flatMap((w) => Array.from({ length: PER_WRITER }, (_, i) => w * PER_WRITER + i)).sort((a, b) => a - b);
      for (const key of keys) {
        const history = await get<{ metrics: Metric[] }>(token, "metrics/get-history", { run_id: runId, metric_key: key, max_results: 25000 });
        expect(history.status).toBe(200);
        expect(history.json.metrics.map((m) => m.step)).toEqual(expectedSteps);
      }
      const run = await getRun(token, runId);
      const maxStep = expectedSteps.at(-1)!;
      for (const key of keys) {
        expect(run.data.metrics.find((m) => m.key === key)).toMatchObject({ step: maxStep, value: maxStep / 1000, timestamp: 1_000_000 + maxStep });
      }
      expect(run.data.params).toEqual([{ key: "shared", value: "same" }]);
      const tagKeys = run.data.tags.map((t) => t.key);
      for (const w of writers) expect(tagKeys).toContain(`w${w}`);
      expect(writers.map(String)).toContain(run.data.tags.find((t) => t.key === "writer")?.value);
      expect(writers.map(String)).toContain(run.data.tags.find((t) => t.key === "heartbeat")?.value);
    }
  });

  it("concurrent params with conflicting values: exactly one value wins, the others are refused", async () => {
    const runId = (await createRun(token, exp)).run_id;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => post<ErrorBody>(token, "runs/log-parameter", { run_id: runId, key: "seed", value: String(i) })));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(400);
      expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    }
    expect((await getRun(token, runId)).data.params).toHaveLength(1);
  });

  it("concurrent creates of one experiment name: one succeeds, the rest are RESOURCE_ALREADY_EXISTS", async () => {
    const name = `race-${Date.now()}`;
    const results = await Promise.all(Array.from({ length: 8 }, () => post<ErrorBody & { experiment_id?: string }>(token, "experiments/create", { name })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(400);
      expect(r.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    }
    const found = await post<{ experiments: Experiment[] }>(token, "experiments/search", { filter: `name = '${name}'` });
    expect(found.json.experiments).toHaveLength(1);
  });

  it("concurrent renames to one name: one succeeds, the rest are RESOURCE_ALREADY_EXISTS", async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => createExperiment(token, `rename-src-${Date.now()}-${i}`)));
    const name = `rename-target-${Date.now()}`;
    const results = await Promise.all(ids.map((id) => post<ErrorBody>(token, "experiments/update", { experiment_id: id, new_name: name })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expect(r.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    const found = await post<{ experiments: Experiment[] }>(token, "experiments/search", { filter: `name = '${name}'` });
    expect(found.json.experiments).toHaveLength(1);
  });

  it("concurrent first runs in experiment 0 share one Default experiment", async () => {
    const fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const created = await Promise.all(Array.from({ length: 8 }, () => post<{ run: { info: { experiment_id: string } } }>(fraud, "runs/create", { experiment_id: "0" })));
    for (const r of created) expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(new Set(created.map((r) => r.json.run.info.experiment_id)).size).toBe(1);
    const id = created[0]!.json.run.info.experiment_id;
    const exp = await get<{ experiment: Experiment }>(fraud, "experiments/get", { experiment_id: id });
    expect(exp.json.experiment).toMatchObject({ name: "Default", artifact_location: `mlflow-artifacts:/${id}` });
  });

  it("concurrent log-model calls append every model to the history tag", async () => {
    const runId = (await createRun(token, exp)).run_id;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post(token, "runs/log-model", { run_id: runId, model_json: JSON.stringify({ artifact_path: `m${i}` }) })));
    for (const r of results) expect(r.status).toBe(200);
    const tag = (await getRun(token, runId)).data.tags.find((t) => t.key === "mlflow.log-model.history");
    const history = JSON.parse(tag?.value ?? "[]") as { artifact_path: string }[];
    expect(history.map((h) => h.artifact_path).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
  });
});
