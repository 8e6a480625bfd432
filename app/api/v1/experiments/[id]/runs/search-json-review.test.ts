// Hostile review (review-s): run pages built as JSON text by the database (hydrate.ts runsJson/runRows) against
// hostile keys and values and non-finite metrics, as MLflow clients and the run browser read them.
// ATTACKS THAT HELD: every test here passes (the answer stays valid JSON, values round-trip, nothing of another
// team's runs appears). Kept as regression guards.
import { beforeAll, describe, expect, it } from "vitest";
import { GET as browseRoute } from "./route";
import { DEMO, call, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import type { Run } from "@/server/mlflow/test-client";
import { createExperiment, createRun, getRun, mlflow, post } from "@/server/mlflow/test-client";

const db = demoDatabase();
let churn = "";
let fraud = "";
let exp = "";
let run = "";
let fraudExp = "";

// Keys and values that break hand-built JSON: quotes, backslashes, a closing brace and bracket, control
// characters, U+2028/2029, astral characters and a fake field. (Half of a surrogate pair is not text: every
// request carrying one is refused with 400 before anything is written — the last test below.)
const nasty = ['a"b', "back\\slash", '"},{"key":"injected","value":"x', "tab\there\nnl\r", "\u2028\u2029", "😀 ñ", "x\u0001\u001f", "]}],\"runs\":[{"];
const paramsOnly = nasty;

beforeAll(async () => {
  [churn, fraud] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.dsFraud ?? DEMO.leadFraud, "fraud")]);
  exp = await createExperiment(churn, `json-${Date.now()}`);
  run = (await createRun(churn, exp, { run_name: 'name "with" \\ quotes' })).run_id;
  const params = paramsOnly.map((v, i) => ({ key: `p${i}${v.replace(/[^\w]/g, "")}`, value: v }));
  const tags = nasty.map((v, i) => ({ key: `t${i}`, value: v }));
  const batch = await post(churn, "runs/log-batch", { run_id: run, params, tags });
  expect(batch.status, batch.text).toBe(200);
  // As the Python client sends non-finite doubles: bare NaN / Infinity tokens.
  const metrics = `{"run_id":"${run}","metrics":[{"key":"nan","value":NaN,"timestamp":1,"step":0},{"key":"inf","value":Infinity,"timestamp":1,"step":0},{"key":"ninf","value":-Infinity,"timestamp":1,"step":0},{"key":"tiny","value":5e-324,"timestamp":1,"step":0},{"key":"big","value":1.7976931348623157e308,"timestamp":1,"step":0},{"key":"third","value":0.30000000000000004,"timestamp":1,"step":9007199254740991}]}`;
  const m = await mlflow(churn, "POST", "runs/log-batch", { body: metrics });
  expect(m.status, m.text).toBe(200);
  fraudExp = await createExperiment(fraud, `fraud-json-${Date.now()}`);
  await createRun(fraud, fraudExp, { run_name: "fraud-run" });
});

describe("ATTACK HELD: hostile strings and non-finite metrics in a database-built run page", () => {
  it("runs/search answers valid JSON whose params and tags round-trip exactly", async () => {
    const res = await post<{ runs: Run[] }>(churn, "runs/search", { experiment_ids: [exp] });
    expect(res.status, res.text).toBe(200);
    expect(() => JSON.parse(res.text)).not.toThrow();
    const [r] = res.json.runs;
    expect(res.json.runs).toHaveLength(1);
    const want = [...nasty].sort();
    expect(r!.data.params.map((p) => p.value).sort()).toEqual([...paramsOnly].sort());
    expect(r!.data.tags.filter((t) => /^t\d$/.test(t.key)).map((t) => t.value).sort()).toEqual(want);
    expect(r!.info.run_name).toBe('name "with" \\ quotes');
    expect(r!.data.params.some((p) => p.key === "injected")).toBe(false);
  });

  it("non-finite metrics come back as MLflow's JSON strings, finite ones exactly", async () => {
    const r = await getRun(churn, run);
    const byKey = Object.fromEntries(r.data.metrics.map((m) => [m.key, m]));
    expect(byKey.nan!.value).toBe("NaN");
    expect(byKey.inf!.value).toBe("Infinity");
    expect(byKey.ninf!.value).toBe("-Infinity");
    expect(byKey.tiny!.value).toBe(5e-324);
    expect(byKey.big!.value).toBe(1.7976931348623157e308);
    expect(byKey.third!.value).toBe(0.30000000000000004);
    expect(byKey.third!.step).toBe(9007199254740991);
  });

  it("the run browser's rows parse and carry the same values", async () => {
    const res = await call(browseRoute, { token: churn, params: { id: exp }, path: `/api/v1/experiments/${exp}/runs` });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const row = (res.json as { runs: { params: Record<string, string>; tags?: Record<string, string>; metrics: Record<string, unknown> }[] }).runs[0]!;
    expect(Object.values(row.params).sort()).toEqual([...paramsOnly].sort());
    expect(Object.values(row.tags ?? {}).length).toBeGreaterThanOrEqual(nasty.length);
    expect(row.metrics).toMatchObject({ nan: "NaN", inf: "Infinity", ninf: "-Infinity", third: 0.30000000000000004 });
  });

  it("fraud cannot get churn's run, nor mix churn's experiment into a search of its own", async () => {
    expect((await post(fraud, "runs/get", { run_id: run })).status).not.toBe(200);
    const res = await mlflow(fraud, "GET", "runs/get", { query: { run_id: run } });
    expect(res.status).toBe(404);
    const mixed = await post(fraud, "runs/search", { experiment_ids: [fraudExp, exp] });
    expect(mixed.status).toBe(404);
    expect(mixed.text).not.toContain(run);
  });
});

describe("half of a UTF-16 surrogate pair", () => {
  it("is refused with 400 in a tag or param, and nothing of the batch is written", async () => {
    const before = await getRun(churn, run);
    const res = await post(churn, "runs/log-batch", { run_id: run, tags: [{ key: "lone", value: "lone\udfff surrogate" }], params: [{ key: "fine", value: "x" }] });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/half of a UTF-16 surrogate pair/);
    const after = await getRun(churn, run);
    expect(after.data.tags.length).toBe(before.data.tags.length);
    expect(after.data.params.length).toBe(before.data.params.length);
  });
});
