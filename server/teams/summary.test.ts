// The team lists' figures: quota, usage now and month-to-date spend per team, the same as the team page
// (teamUsage) and the costs page (budgets) show, scoped to the teams the actor may read.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { costLedger, jobs, teams } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { quotaSchema } from "@/lib/schemas/teams";
import { submitJob } from "../jobs/service";
import { createExperiment } from "../tracking/experiments";
import { getCosts } from "../costs/service";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { teamUsage } from "./admin";
import { createTeam } from "./service";
import { teamSummaries } from "./summary";

const db = demoDatabase();

describe("team summaries", () => {
  it("show each readable team's quota, usage and month-to-date spend against its budget", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    await createTeam(admin, { slug: "sums", name: "Sums", quota: quotaSchema.parse({ cpu: 10, memory_gib: 40, gpus: 2, max_concurrent_jobs: 3, max_deployments: 2, monthly_budget_usd: 400 }) });
    const [sums] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "sums"));
    // Jobs submitted to the new team (no scheduler runs here), then set running, admitted and finished by hand.
    const exp = await createExperiment(admin, { name: "sums-exp", team: "sums" });
    const submitted = [];
    for (let i = 0; i < 3; i++) submitted.push((await submitJob(admin, exp.experiment_id, trainJobSchema.parse({ command: ["true"], instance_type: "cpu.small" }))).job_id);
    const set = (id: string, values: Partial<typeof jobs.$inferInsert>) => db().update(jobs).set(values).where(eq(jobs.id, id));
    await set(submitted[0]!, { status: "running", cpu: 2, memoryGib: 8, gpus: 1 });
    await set(submitted[1]!, { status: "admitted", cpu: 1.5, memoryGib: 4, gpus: 0 });
    await set(submitted[2]!, { status: "succeeded", cpu: 8, memoryGib: 8, gpus: 0 });
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const entry = (start: Date, amount: number, id: string) => ({
      teamId: sums!.id, subjectKind: "job" as const, subjectId: id, subjectName: "j", userEmail: DEMO.ds, resource: "cpu.small",
      quantityHours: 1, unitPriceUsd: amount, amountUsd: amount, periodStart: start, periodEnd: new Date(start.getTime() + 3_600_000),
    });
    await db().insert(costLedger).values([entry(monthStart, 100, "a"), entry(new Date(monthStart.getTime() + 60_000), 50, "b"), entry(new Date(monthStart.getTime() - 86_400_000), 999, "c")]);

    const list = await teamSummaries(admin);
    expect(list.map((t) => t.slug)).toEqual(expect.arrayContaining(["churn", "fraud", "vision", "sums"]));
    expect(list.find((t) => t.slug === "sums")).toMatchObject({
      name: "Sums",
      quota: { cpu: 10, memory_gib: 40, gpus: 2, max_concurrent_jobs: 3, max_deployments: 2, monthly_budget_usd: 400 },
      used: { cpu: 3.5, memory_gib: 12, gpus: 1, max_concurrent_jobs: 2, max_deployments: 0, max_replicas: 0 },
      spent_this_month_usd: 150,
      budget_share: 0.375,
    });
    // The same figures as the team page and the costs page, for every team.
    const costs = await getCosts(admin, {});
    for (const t of list) {
      const usage = await teamUsage(admin, t.slug);
      const { gpus_by_type: _types, storage_gib: _storage, ...used } = usage.used;
      expect(t.used, t.slug).toEqual(used);
      expect(t.quota, t.slug).toEqual(usage.quota);
      const budget = costs.budgets.find((b) => b.team === t.slug)!;
      expect([t.spent_this_month_usd, t.budget_share], t.slug).toEqual([budget.spent_this_month_usd, budget.share]);
    }
  });

  it("a member sees only their own teams; another team's figures are never included", async () => {
    expect((await teamSummaries(await ctxFor(db(), DEMO.ds))).map((t) => t.slug)).toEqual(["churn"]);
    const fraud = await teamSummaries(await ctxFor(db(), DEMO.leadFraud));
    expect(fraud.map((t) => [t.slug, t.role])).toEqual([["fraud", "team_lead"]]);
  });

  it("creating a team with a quota stores that quota; without one the platform's defaults", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const withQuota = await createTeam(admin, { slug: "sized", name: "Sized", quota: quotaSchema.parse({ cpu: 3, memory_gib: 6, gpus: 0, max_concurrent_jobs: 1, max_deployments: 1, max_replicas: 2, storage_gib: 5, monthly_budget_usd: 50 }) });
    expect(withQuota.quota).toMatchObject({ cpu: 3, memory_gib: 6, max_concurrent_jobs: 1, max_deployments: 1, max_replicas: 2, storage_gib: 5, monthly_budget_usd: 50 });
    const plain = await createTeam(admin, { slug: "plain", name: "Plain" });
    expect(plain.quota).toMatchObject({ cpu: 16, memory_gib: 64, max_concurrent_jobs: 5, monthly_budget_usd: 1000 });
    await expect(createTeam(await ctxFor(db(), DEMO.lead), { slug: "nope", name: "Nope", quota: quotaSchema.parse({ cpu: 1, memory_gib: 1, gpus: 0, max_concurrent_jobs: 1, max_deployments: 1, monthly_budget_usd: 1 }) }))
      .rejects.toMatchObject({ code: "forbidden" });
  });
});
