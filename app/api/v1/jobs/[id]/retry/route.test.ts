// POST /api/v1/jobs/{id}/retry: a finished job runs again as a new job and run with the same spec.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { POST as retryPOST } from "@/app/api/v1/jobs/[id]/retry/route";
import { jobs } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { isFinal, waitForJob } from "@/server/jobs/testing/wait";
import type { JobDto } from "@/server/jobs/service";
import { retryJob, submitJob } from "@/server/jobs/service";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { createExperiment } from "@/server/tracking/experiments";

const db = demoDatabase();

describe("retry", () => {
  it("runs a finished job again with the same spec; refused while it runs, and for other teams", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    const { experiment_id: exp } = await createExperiment(mle, { name: `retry-${Date.now()}`, team: "churn" });
    const first = await submitJob(mle, exp, trainJobSchema.parse({
      instance_type: "cpu.small", command: [process.execPath, "-e", "setTimeout(() => process.exit(3), 300)"], env: { ALPHA: "0.5" }, priority: "high", max_runtime_seconds: 120,
    }));
    await expect(retryJob(mle, first.job_id)).rejects.toMatchObject({ code: "conflict" });
    expect((await waitForJob(db(), first.job_id, isFinal)).status).toBe("failed");
    await expect(retryJob(await ctxFor(db(), DEMO.dsFraud), first.job_id)).rejects.toMatchObject({ code: "not_found" });

    // A member who did not submit it may not rerun it with its env (it may hold the submitter's secrets)…
    await expect(retryJob(await ctxFor(db(), DEMO.ds), first.job_id)).rejects.toMatchObject({ code: "forbidden" });
    // …a team lead may, over HTTP, and owns the new job.
    const res = await call(retryPOST, { method: "POST", token: await tokenFor(db(), DEMO.lead, "churn"), params: { id: first.job_id } });
    expect(res.status).toBe(202);
    const again = res.json as JobDto;
    expect(again.job_id).not.toBe(first.job_id);
    expect(again.run_id).not.toBe(first.run_id);
    const [[a], [b]] = await Promise.all([db().select().from(jobs).where(eq(jobs.id, first.job_id)), db().select().from(jobs).where(eq(jobs.id, again.job_id))]);
    expect(b!.spec).toEqual(a!.spec);
    expect(b).toMatchObject({ cpu: a!.cpu, memoryGib: a!.memoryGib, name: a!.name, userEmail: DEMO.lead, experimentId: a!.experimentId });
    expect((await waitForJob(db(), again.job_id, isFinal)).status).toBe("failed");
    expect((await call(retryPOST, { method: "POST", token: await tokenFor(db(), DEMO.dsFraud, "fraud"), params: { id: first.job_id } })).status).toBe(404);
  });
});
