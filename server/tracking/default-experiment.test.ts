import { describe, expect, it } from "vitest";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { getExperiment } from "./experiments";
import { createRun } from "./runs";
import { searchRuns } from "./search";

const db = demoDatabase();

describe("MLflow's experiment 0", () => {
  it("is each team's own Default experiment, created by the first run and readable as 0", async () => {
    const churn = await ctxFor(db(), DEMO.ds);
    await expect(getExperiment(churn, "0")).rejects.toMatchObject({ code: "not_found" });
    const run = await createRun(churn, { experiment_id: "0", tags: [] });
    const exp = await getExperiment(churn, "0");
    expect(exp).toMatchObject({ name: "Default", team: "churn", experiment_id: run.info.experiment_id });
    const found = await searchRuns(churn, { experiment_ids: ["0"], filter: "", run_view_type: "ACTIVE_ONLY", max_results: 10, order_by: [] });
    expect(found.runs.map((r) => r.info.run_id)).toEqual([run.info.run_id]);

    // Another team's 0 is its own, never churn's.
    const fraud = await ctxFor(db(), DEMO.dsFraud);
    await expect(getExperiment(fraud, "0")).rejects.toMatchObject({ code: "not_found" });
    const fraudRun = await createRun(fraud, { experiment_id: "0", tags: [] });
    expect(fraudRun.info.experiment_id).not.toBe(run.info.experiment_id);
  });
});
