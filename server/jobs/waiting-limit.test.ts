// A team's waiting jobs are bounded (CAIRN_MAX_WAITING_JOBS_PER_TEAM): each admission pass re-ranks every waiting
// job, so an unbounded queue let one team make every pass (under the one admission lock) as long as it liked.
// Submits past the limit are refused with what to do; other teams are unaffected; a cancel frees room.
import { vi, describe, expect, it } from "vitest";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { createExperiment } from "../tracking/experiments";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { cancelJob, submitJob } from "./service";

// Read once by env() on first use, before any test runs.
vi.stubEnv("CAIRN_MAX_WAITING_JOBS_PER_TEAM", "3");
const db = demoDatabase();

const job = trainJobSchema.parse({ command: ["true"], instance_type: "cpu.small" });

describe("waiting jobs per team", () => {
  it("refuses a submit past the limit (429, nothing created), not another team's, and makes room when one is cancelled", async () => {
    const ds = await ctxFor(db(), DEMO.ds);
    const { experiment_id: exp } = await createExperiment(ds, { name: `waiting-${Date.now()}`, team: "churn" });
    // No scheduler runs here: submitted jobs stay queued.
    const made = await Promise.all(Array.from({ length: 3 }, () => submitJob(ds, exp, job)));
    expect(made.every((j) => j.status === "queued")).toBe(true);
    await expect(submitJob(ds, exp, job)).rejects.toMatchObject({
      code: "rate_limited", retryAfterSeconds: 60,
      message: "Team churn already has 3 jobs waiting to start, the most a team may queue (CAIRN_MAX_WAITING_JOBS_PER_TEAM); cancel some or wait for them to start.",
    });
    const fraud = await ctxFor(db(), DEMO.dsFraud);
    const { experiment_id: other } = await createExperiment(fraud, { name: `waiting-${Date.now()}`, team: "fraud" });
    expect((await submitJob(fraud, other, job)).status).toBe("queued");
    await cancelJob(ds, made[0]!.job_id);
    expect((await submitJob(ds, exp, job)).status).toBe("queued");
  });

  it("racing submits cannot pass the limit", async () => {
    const ds = await ctxFor(db(), DEMO.dsFraud);
    const { experiment_id: exp } = await createExperiment(ds, { name: `waiting-race-${Date.now()}`, team: "fraud" });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => submitJob(ds, exp, job)));
    // fraud had 1 waiting from the test before: 2 more fit.
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(2);
    expect(results.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason.code === "rate_limited")).toBe(true);
  });
});
