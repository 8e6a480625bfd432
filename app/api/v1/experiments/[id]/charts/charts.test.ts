// The chart panel's routes: answers over the filter, 400 with a clear message for bad input, 404 for another team.
import { beforeAll, describe, expect, it } from "vitest";
import { createExperiment, createRun, post } from "@/server/mlflow/test-client";
import { call, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { GET as historyRoute } from "./history/route";
import { GET as importanceRoute } from "./importance/route";
import { GET as runsRoute } from "./runs/route";

const db = demoDatabase();
let token = "";
let fraudToken = "";
let exp = "";

beforeAll(async () => {
  token = await tokenFor(db(), DEMO.ds, "churn");
  fraudToken = await tokenFor(db(), DEMO.dsFraud, "fraud");
  exp = await createExperiment(token, `charts-${Date.now()}`);
  for (let i = 0; i < 3; i++) {
    const run = await createRun(token, exp);
    await post(token, "runs/log-batch", {
      run_id: run.run_id,
      params: [{ key: "lr", value: String(0.1 * (i + 1)) }],
      metrics: [0, 1, 2].map((step) => ({ key: "loss", value: 1 / (step + 1 + i), timestamp: 1, step })),
    });
  }
});

const get = (handler: typeof runsRoute, path: string, as = token) => call(handler, { path: `/api/v1/experiments/${exp}/charts/${path}`, token: as, params: { id: exp } });

describe("experiment chart routes", () => {
  it("answers the runs' values, histories and importance over the filter", async () => {
    const runs = await get(runsRoute, `runs?keys=params.lr,metrics.loss&filter=${encodeURIComponent("params.lr != '0.1'")}`);
    expect(runs.status).toBe(200);
    expect(runs.json).toMatchObject({ total: 2, truncated: false, values: { "params.lr": ["0.30000000000000004", "0.2"], "metrics.loss": [0.2, 0.25] } });
    const history = await get(historyRoute, "history?metric=loss&max_points=50");
    expect(history.status).toBe(200);
    expect(history.json).toMatchObject({ metric: "loss", points_per_run: 50 });
    expect((history.json as { runs: { steps: number[] }[] }).runs.map((r) => r.steps)).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
    const importance = await get(importanceRoute, "importance?objective=loss");
    expect(importance.status).toBe(200);
    expect(importance.json).toMatchObject({ objective: "loss", runs_used: 3, importances: [], message: expect.stringMatching(/at least 5 runs/) });
  });

  it("answers 400 with what to fix for bad input", async () => {
    const cases: [typeof runsRoute, string, RegExp][] = [
      [runsRoute, "runs?keys=lr", /params\.<name>, metrics\.<name> or attributes\.<name>/],
      [runsRoute, "runs?keys=attributes.password", /Unknown attribute .{0,2}password/],
      [runsRoute, `runs?filter=${encodeURIComponent("metrics.loss >")}`, /Invalid filter/],
      [historyRoute, "history", /metric/],
      [historyRoute, "history?metric=loss&max_points=5", /max_points is at least 8/],
      [importanceRoute, "importance", /objective/],
      [runsRoute, "runs?bogus=1", /bogus/],
    ];
    for (const [handler, path, message] of cases) {
      const res = await get(handler, path);
      expect(res.status, path).toBe(400);
      expect(JSON.stringify(res.json), path).toMatch(message);
    }
  });

  it("answers 404 to another team on every route", async () => {
    for (const [handler, path] of [[runsRoute, "runs?keys=params.lr"], [historyRoute, "history?metric=loss"], [importanceRoute, "importance?objective=loss"]] as const) {
      const res = await get(handler, path, fraudToken);
      expect(res.status, path).toBe(404);
    }
  });
});
