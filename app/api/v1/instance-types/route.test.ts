// The instance-type catalog: everyone reads it, admins add, change and remove entries (audited); a job keeps
// the price it was submitted with.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { DELETE as typeDELETE, PUT as typePUT } from "@/app/api/v1/instance-types/[name]/route";
import { GET as typesGET } from "@/app/api/v1/instance-types/route";
import { auditEvents, jobs } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { cancelJob, submitJob } from "@/server/jobs/service";
import { isFinal, waitForJob } from "@/server/jobs/testing/wait";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { createExperiment } from "@/server/tracking/experiments";
import { flushDenials } from "@/server/audit/denials";

const db = demoDatabase();

describe("instance-type catalog", () => {
  it("admins add, change and remove types; others read only; bad input says what is wrong", async () => {
    const admin = await tokenFor(db(), DEMO.admin, "churn");
    const ds = await tokenFor(db(), DEMO.ds, "churn");
    const list = await call(typesGET, { token: ds });
    expect(list.status).toBe(200);
    expect((list.json as { instance_types: { name: string }[] }).instance_types.map((t) => t.name)).toEqual(["cpu.small", "cpu.large", "gpu.small", "gpu.large"]);

    const medium = { cpu: 4, memory_gib: 16, hourly_price_usd: 0.2 };
    expect((await call(typePUT, { method: "PUT", token: ds, params: { name: "cpu.medium" }, body: medium })).status).toBe(403);
    expect((await call(typePUT, { method: "PUT", token: await tokenFor(db(), DEMO.lead, "churn"), params: { name: "cpu.medium" }, body: medium })).status).toBe(403);
    const created = await call(typePUT, { method: "PUT", token: admin, params: { name: "cpu.medium" }, body: medium });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({ name: "cpu.medium", cpu: 4, memory_gib: 16, gpu_type: null, gpu_count: 0, hourly_price_usd: 0.2 });

    const bad = [
      [{ ...medium, gpu_count: 2 }, "an instance type with GPUs names their type"],
      [{ ...medium, gpu_type: "nvidia-a100" }, "gpu_count is 0 but gpu_type is nvidia-a100"],
      [{ ...medium, cpu: 0 }, "cpu must be more than 0"],
      [{ ...medium, hourly_price_usd: -1 }, "cannot be negative"],
      [{ ...medium, namespace: "x" }, "namespace"],
    ] as const;
    for (const [body, message] of bad) {
      const res = await call(typePUT, { method: "PUT", token: admin, params: { name: "cpu.medium" }, body });
      expect(res.status, message).toBe(400);
      expect(JSON.stringify(res.json), message).toContain(message);
    }
    expect((await call(typePUT, { method: "PUT", token: admin, params: { name: "Bad Name" }, body: medium })).status).toBe(400);

    // A job submitted now keeps this price, whatever the catalog says later.
    const dsCtx = await ctxFor(db(), DEMO.ds);
    const { experiment_id: exp } = await createExperiment(dsCtx, { name: `catalog-${Date.now()}`, team: "churn" });
    const job = await submitJob(dsCtx, exp, trainJobSchema.parse({ instance_type: "cpu.medium", command: ["sleep", "5"] }));
    const changed = await call(typePUT, { method: "PUT", token: admin, params: { name: "cpu.medium" }, body: { ...medium, hourly_price_usd: 0.3 } });
    expect((changed.json as { hourly_price_usd: number }).hourly_price_usd).toBe(0.3);
    expect((await call(typeDELETE, { method: "DELETE", token: ds, params: { name: "cpu.medium" } })).status).toBe(403);
    expect((await call(typeDELETE, { method: "DELETE", token: admin, params: { name: "cpu.medium" } })).status).toBe(204);
    expect((await call(typeDELETE, { method: "DELETE", token: admin, params: { name: "cpu.medium" } })).status).toBe(404);
    const [row] = await db().select({ price: jobs.hourlyPriceUsd, cpu: jobs.cpu }).from(jobs).where(eq(jobs.id, job.job_id));
    expect(row).toEqual({ price: 0.2, cpu: 4 });
    await expect(submitJob(dsCtx, exp, trainJobSchema.parse({ instance_type: "cpu.medium", command: ["true"] }))).rejects.toMatchObject({ message: expect.stringContaining('Unknown instance type "cpu.medium"') });
    await cancelJob(await ctxFor(db(), DEMO.admin), job.job_id).catch(() => undefined);
    await waitForJob(db(), job.job_id, isFinal); // its process has ended before the database closes

    await flushDenials(db());
    const audit = await db().select({ action: auditEvents.action, outcome: auditEvents.outcome }).from(auditEvents).where(eq(auditEvents.target, "instance_type:cpu.medium"));
    expect(audit).toEqual(expect.arrayContaining([
      { action: "instance_type.save", outcome: "denied" }, { action: "instance_type.save", outcome: "allowed" },
      { action: "instance_type.delete", outcome: "denied" }, { action: "instance_type.delete", outcome: "allowed" },
    ]));
  });
});
