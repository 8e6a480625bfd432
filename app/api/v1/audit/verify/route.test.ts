import { asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { refreshAnchor } from "@/server/audit/anchor";
import { call, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { GET } from "./route";

const db = demoDatabase();

describe("GET /api/v1/audit/verify", () => {
  it("answers admins about the whole chain and team leads about their teams, without naming other teams' events", async () => {
    const admin = await tokenFor(db(), DEMO.admin, "churn");
    const lead = await tokenFor(db(), DEMO.lead, "churn");
    const fraudLead = await tokenFor(db(), DEMO.leadFraud, "fraud");
    const ds = await tokenFor(db(), DEMO.ds, "churn");
    await refreshAnchor(db());
    const intact = await call(GET, { token: admin, path: "/api/v1/audit/verify" });
    expect(intact.status).toBe(200);
    expect(intact.json).toMatchObject({ ok: true, scope: "all", anchor: "matched", first_broken_id: null, problem: null });
    expect((await call(GET, { token: ds, path: "/api/v1/audit/verify" })).status).toBe(403);

    // A fraud event (the fraud lead's own verify call leaves one) edited in the database.
    expect((await call(GET, { token: fraudLead, path: "/api/v1/audit/verify" })).status).toBe(200);
    await call(GET, { token: ds, path: "/api/v1/audit/verify" }); // a denied churn row, after the fraud one
    const rows = await db().select().from(auditEvents).orderBy(asc(auditEvents.id));
    const fraudRow = rows.find((r) => r.team === "fraud") ?? rows.find((r) => r.teamId !== null && r.team !== "churn");
    expect(fraudRow).toBeDefined();
    await db().execute(sql.raw("alter table audit_events disable trigger audit_events_no_update"));
    await db().update(auditEvents).set({ details: { forged: true } }).where(eq(auditEvents.id, fraudRow!.id));
    await db().execute(sql.raw("alter table audit_events enable trigger audit_events_no_update"));

    const asLead = await call(GET, { token: lead, path: "/api/v1/audit/verify" });
    expect(asLead.status).toBe(200);
    expect(asLead.json).toMatchObject({ ok: false, scope: "own_teams", first_broken_id: null, problem: expect.stringMatching(/outside your teams/) });
    expect(JSON.stringify(asLead.json)).not.toContain(`#${fraudRow!.id}`);
    const asAdmin = await call(GET, { token: admin, path: "/api/v1/audit/verify" });
    expect(asAdmin.json).toMatchObject({ ok: false, scope: "all", first_broken_id: fraudRow!.id });
  });
});
