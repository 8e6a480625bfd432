import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { teamQuotas, teams } from "@/db/schema";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { createTeam, getTeam, listTeams } from "./service";

const db = demoDatabase();

describe("teams", () => {
  it("lists only the actor's teams; admins see all", async () => {
    expect((await listTeams(await ctxFor(db(), DEMO.ds))).map((t) => t.slug)).toEqual(["churn"]);
    expect((await listTeams(await ctxFor(db(), DEMO.dsFraud))).map((t) => t.slug)).toEqual(["fraud"]);
    const all = (await listTeams(await ctxFor(db(), DEMO.admin))).map((t) => t.slug);
    expect(all).toEqual(expect.arrayContaining(["churn", "fraud", "vision"]));
  });

  it("reads a team with members and quota; a foreign team is not found", async () => {
    const team = await getTeam(await ctxFor(db(), DEMO.ds), "churn");
    expect(team.members.map((m) => m.email).sort()).toEqual([DEMO.ds, DEMO.lead, DEMO.mle].sort());
    expect(team.quota).toMatchObject({ cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, monthly_budget_usd: 5000 });
    expect(JSON.stringify(team)).not.toMatch(/password|hash/i);
    await expect(getTeam(await ctxFor(db(), DEMO.ds), "fraud")).rejects.toMatchObject({ code: "not_found" });
    await expect(getTeam(await ctxFor(db(), DEMO.ds), "does-not-exist")).rejects.toMatchObject({ code: "not_found" });
  });

  it("lets only admins create teams, with a namespace and the default quota", async () => {
    for (const who of [DEMO.ds, DEMO.mle, DEMO.lead]) {
      await expect(createTeam(await ctxFor(db(), who), { slug: "search", name: "Search" })).rejects.toMatchObject({ code: "forbidden" });
    }
    expect(await db().select().from(teams).where(eq(teams.slug, "search"))).toHaveLength(0);
    const created = await createTeam(await ctxFor(db(), DEMO.admin), { slug: "search", name: "Search" });
    expect(created).toMatchObject({ slug: "search", namespace: "cairn-search", members: [] });
    const [row] = await db().select().from(teams).where(eq(teams.slug, "search"));
    expect(await db().select().from(teamQuotas).where(eq(teamQuotas.teamId, row!.id))).toHaveLength(1);
    await expect(createTeam(await ctxFor(db(), DEMO.admin), { slug: "search", name: "Again" })).rejects.toMatchObject({ code: "conflict" });
  });
});
