// Sweeps meet the team's budget steps: a new sweep is refused like a job past a step that holds its user back, and a
// running sweep waits (saying why, its running trials untouched) until a lead's extension lets it go on.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { costLedger, teams } from "@/db/schema";
import { createSweepSchema } from "@/lib/schemas/sweeps";
import { monthOf } from "../costs/budget";
import { grantBudgetExtension } from "../costs/budget-service";
import { cancelJob, getJob } from "../jobs/service";
import { DEMO, ctxFor, demoDatabase } from "../testing/fixtures";
import { createExperiment } from "../tracking/experiments";
import { driveSweep } from "./driver";
import { createSweep, getSweep } from "./service";

const db = demoDatabase();

const BASE = {
  space: [{ name: "lr", type: "log_uniform", low: 0.001, high: 0.5 }],
  objective: { metric: "val_loss", direction: "minimize" },
  algorithm: "random",
  seed: 3,
  parallelism: 2,
  max_trials: 4,
  template: { command: ["python3", "train.py"], instance_type: "cpu.small", max_runtime_seconds: 600 },
};

describe("sweeps and the budget steps", () => {
  it("past the approval line a data scientist's sweep waits instead of failing, a new one is refused, and a lead's extension lets it go on", async () => {
    const ds = await ctxFor(db(), DEMO.ds);
    const exp = (await createExperiment(ds, { name: `sweep-budget-${Date.now()}`, team: "churn" })).experiment_id;
    const sweep = await createSweep(ds, exp, createSweepSchema.parse(BASE));
    await driveSweep(db(), sweep.sweep_id);
    const started = await getSweep(ds, sweep.sweep_id);
    expect(started.trials).toHaveLength(2);

    // churn ($5,000) spends $5,100 this month: past its approval line.
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const { start } = monthOf(new Date());
    await db().insert(costLedger).values({
      teamId: churn!.id, subjectKind: "job", subjectId: `sweep-budget-${Date.now()}`, subjectName: "earlier work", userEmail: DEMO.ds, resource: "gpu.large",
      quantityHours: 425, unitPriceUsd: 12, amountUsd: 5100, periodStart: start, periodEnd: new Date(start.getTime() + 1000),
    });

    // A slot frees up (one trial's job is cancelled); the next pass would submit trial 3, but the step holds it back.
    const lead = await ctxFor(db(), DEMO.lead);
    await cancelJob(lead, started.trials[0]!.job_id!);
    await driveSweep(db(), sweep.sweep_id);
    const waiting = await getSweep(ds, sweep.sweep_id);
    expect(waiting.state).toBe("running");
    expect(waiting.trials).toHaveLength(2);
    expect(waiting.message).toMatch(/^waiting to submit trial 3: Team churn has spent \$5,100\.00 this month, past its approval line/);
    // The other trial's job is untouched.
    expect((await getJob(lead, started.trials[1]!.job_id!)).status).toBe("queued");

    await expect(createSweep(ds, exp, createSweepSchema.parse(BASE))).rejects.toMatchObject({ code: "budget_exceeded" });

    await grantBudgetExtension(lead, "churn", { amount_usd: 500, reason: "finish the sweep" });
    await driveSweep(db(), sweep.sweep_id);
    const resumed = await getSweep(ds, sweep.sweep_id);
    expect(resumed.trials).toHaveLength(3);
    expect(resumed.message).toBeNull();
  });
});
