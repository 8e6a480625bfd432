// Loading several experiments at once (a search names up to 100): one statement, the experiments in the order
// asked, "0" as the caller's Default experiment, and the first missing or foreign id refused as one alone is —
// another team's experiment answered exactly as one that does not exist.
import { beforeAll, describe, expect, it } from "vitest";
import { createExperiment, createRun } from "../mlflow/test-client";
import { AppError } from "../errors";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { loadExperiments } from "./access";

const db = demoDatabase();
let churn: string[] = [];
let fraud = "";
let ds = "";

beforeAll(async () => {
  let dsFraud = "";
  [ds, dsFraud] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  churn = [await createExperiment(ds, `many-a-${Date.now()}`), await createExperiment(ds, `many-b-${Date.now()}`)];
  fraud = await createExperiment(dsFraud, `many-f-${Date.now()}`);
});

const refusal = (p: Promise<unknown>) => p.then(() => "loaded", (e: unknown) => (e instanceof AppError ? `${e.code}: ${e.message}` : String(e)));

describe("loadExperiments", () => {
  it("loads the experiments in the order asked, repeats included", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const refs = await loadExperiments(ctx, [churn[1]!, churn[0]!, churn[1]!], { mode: "read" });
    expect(refs.map((r) => String(r.id))).toEqual([churn[1], churn[0], churn[1]]);
    expect(refs.every((r) => r.teamSlug === "churn")).toBe(true);
  });

  it("refuses another team's experiment exactly as a missing one, whichever comes first", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    expect(await refusal(loadExperiments(ctx, [churn[0]!, fraud], { mode: "read" }))).toBe(`not_found: Could not find experiment with ID ${fraud}`);
    expect(await refusal(loadExperiments(ctx, [churn[0]!, "999999999"], { mode: "read" }))).toBe("not_found: Could not find experiment with ID 999999999");
    expect(await refusal(loadExperiments(ctx, ["999999999", fraud], { mode: "read" }))).toBe("not_found: Could not find experiment with ID 999999999");
    expect(await refusal(loadExperiments(ctx, ["not-a-number"], { mode: "read" }))).toBe("not_found: Could not find experiment with ID not-a-number");
    // The fraud team's own member reads it.
    const fraudCtx = await ctxFor(db(), DEMO.dsFraud);
    expect((await loadExperiments(fraudCtx, [fraud], { mode: "read" }))[0]!.teamSlug).toBe("fraud");
  });

  it("reads \"0\" as the caller's team's Default experiment", async () => {
    // The team's first run in "0" creates it.
    await createRun(ds, "0");
    const ctx = await ctxFor(db(), DEMO.ds);
    const [ref, other] = await loadExperiments(ctx, ["0", churn[0]!], { mode: "read" });
    expect([ref!.teamSlug, ref!.name, String(other!.id)]).toEqual(["churn", "Default", churn[0]]);
  });
});
