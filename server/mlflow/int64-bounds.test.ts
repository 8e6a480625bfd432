// The review found start_step beyond 64 bits answering 500: steps and timestamps are bounded, with a 400.
import { describe, expect, it } from "vitest";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { createExperiment, createRun, get, post } from "./test-client";

const db = demoDatabase();

describe("no 500 for malformed input", () => {
  it("metric history with start_step/end_step beyond 64 bits (or beyond exact integers) answers 400", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const experimentId = await createExperiment(token, `bad-input-${Date.now()}`);
    const runId = (await createRun(token, experimentId)).run_id;
    expect((await post(token, "runs/log-metric", { run_id: runId, key: "loss", value: 1, step: 3, timestamp: Date.now() })).status).toBe(200);
    for (const query of [
      { start_step: "99999999999999999999999" },
      { start_step: "18446744073709551616" },
      { end_step: "9223372036854775808" },
      { start_step: 1e300 },
    ]) {
      const res = await get<{ error_code: string; message: string }>(token, "metrics/get-history-sampled", { run_id: runId, metric_key: "loss", ...query });
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.json.error_code).toBe("INVALID_PARAMETER_VALUE");
      expect(res.json.message).toMatch(/start_step|end_step/);
    }
    // In range it still works.
    const ok = await get<{ metrics: unknown[] }>(token, "metrics/get-history-sampled", { run_id: runId, metric_key: "loss", start_step: 0, end_step: "9007199254740991" });
    expect(ok.status).toBe(200);
    expect(ok.json.metrics).toHaveLength(1);
    // The same bound on writes: a step past 64 bits is refused, nothing is logged.
    const big = await post<{ error_code: string }>(token, "runs/log-metric", { run_id: runId, key: "loss", value: 2, step: "99999999999999999999", timestamp: Date.now() });
    expect(big.status).toBe(400);
    const bigNumber = await post(token, "runs/log-metric", `{"run_id":"${runId}","key":"loss","value":2,"step":1e20,"timestamp":1}`);
    expect(bigNumber.status).toBe(400);
    const history = await get<{ metrics: unknown[] }>(token, "metrics/get-history", { run_id: runId, metric_key: "loss" });
    expect(history.json.metrics).toHaveLength(1);
    // MLflow's bulk-interval endpoint (not served by Cairn) answers 404, whatever its start_step.
    const bulk = await get(token, "metrics/get-history-bulk-interval", { run_ids: runId, metric_key: "loss", start_step: "99999999999999999999999" });
    expect(bulk.status).toBe(404);
  });
});
