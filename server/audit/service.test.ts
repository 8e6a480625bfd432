import { asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { createTeam } from "../teams/service";
import { createToken } from "../tokens/service";
import { listAudit, verifyAudit } from "./service";

const db = demoDatabase();

async function tamper(id: number, set: string): Promise<void> {
  // A DBA editing the table directly: the append-only trigger must be disabled first.
  await db().execute(sql.raw(`alter table audit_events disable trigger audit_events_no_update`));
  await db().execute(sql.raw(`update audit_events set ${set} where id = ${id}`));
  await db().execute(sql.raw(`alter table audit_events enable trigger audit_events_no_update`));
}

describe("audit trail", () => {
  it("records changes in the same transaction, and denied attempts too", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    await createToken(lead, { name: "audit-a", team: "churn", expires_in_days: 1 });
    const ds = await ctxFor(db(), DEMO.ds);
    await expect(createTeam(ds, { slug: "nope", name: "Nope" })).rejects.toMatchObject({ code: "forbidden" });

    const admin = await ctxFor(db(), DEMO.admin);
    const { events } = await listAudit(admin, { limit: 50 });
    const created = events.find((e) => e.action === "token.create" && e.actor === DEMO.lead);
    expect(created).toMatchObject({ team: "churn", outcome: "allowed", request_id: lead.request.id });
    const refused = events.find((e) => e.action === "team.create" && e.actor === DEMO.ds);
    expect(refused).toMatchObject({ outcome: "denied", target: "team:nope" });
    expect(events[0]!.id).toBeGreaterThan(events[1]!.id); // newest first
  });

  it("is append-only in the database itself", async () => {
    const [first] = await db().select().from(auditEvents).orderBy(asc(auditEvents.id)).limit(1);
    await expect(db().execute(sql`update audit_events set action = 'x' where id = ${first!.id}`)).rejects.toThrow();
    await expect(db().execute(sql`delete from audit_events where id = ${first!.id}`)).rejects.toThrow();
  });

  it("scopes reads: team leads see their team, data scientists are refused, foreign teams are not found", async () => {
    const leadFraud = await ctxFor(db(), DEMO.leadFraud);
    await createToken(leadFraud, { name: "fraud-audit", team: "fraud", expires_in_days: 1 });
    const lead = await ctxFor(db(), DEMO.lead);
    const churn = await listAudit(lead, { limit: 200 });
    expect(churn.events.length).toBeGreaterThan(0);
    expect(churn.events.every((e) => e.team === "churn")).toBe(true);
    await expect(listAudit(lead, { team: "fraud", limit: 10 })).rejects.toMatchObject({ code: "not_found" });
    await expect(listAudit(await ctxFor(db(), DEMO.ds), { limit: 10 })).rejects.toMatchObject({ code: "forbidden" });
    await expect(verifyAudit(await ctxFor(db(), DEMO.ds))).rejects.toMatchObject({ code: "forbidden" });
  });

  it("filters by actor, action, outcome and time, and pages with a token", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const denied = await listAudit(admin, { outcome: "denied", limit: 100 });
    expect(denied.events.length).toBeGreaterThan(0);
    expect(denied.events.every((e) => e.outcome === "denied")).toBe(true);
    const tokens = await listAudit(admin, { action: "token", limit: 100 });
    expect(tokens.events.every((e) => e.action.startsWith("token."))).toBe(true);
    const byActor = await listAudit(admin, { actor: "lead.fraud", limit: 100 });
    expect(byActor.events.every((e) => e.actor.includes("lead.fraud"))).toBe(true);
    const future = await listAudit(admin, { since: new Date(Date.now() + 60_000).toISOString(), limit: 100 });
    expect(future.events).toHaveLength(0);

    const page1 = await listAudit(admin, { limit: 2 });
    expect(page1.next_page_token).not.toBeNull();
    const page2 = await listAudit(admin, { limit: 2, page_token: page1.next_page_token! });
    expect(page2.events[0]!.id).toBeLessThan(page1.events[1]!.id);
    await expect(listAudit(admin, { limit: 2, page_token: "garbage" })).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("verify passes on an intact chain and names the first edited row", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const intact = await verifyAudit(admin);
    expect(intact).toMatchObject({ ok: true, first_broken_id: null });
    expect(intact.checked).toBeGreaterThan(3);

    const rows = await db().select({ id: auditEvents.id }).from(auditEvents).orderBy(asc(auditEvents.id));
    const victim = rows[2]!.id;
    const [before] = await db().select().from(auditEvents).where(eq(auditEvents.id, victim));
    await tamper(victim, `details = '{"forged": true}'::jsonb`);
    expect(await verifyAudit(admin)).toMatchObject({ ok: false, first_broken_id: victim });

    // Restoring the exact content restores the chain; deleting a row breaks it at the next one.
    await tamper(victim, `details = '${JSON.stringify(before!.details).replace(/'/g, "''")}'::jsonb`);
    expect((await verifyAudit(admin)).ok).toBe(true);
    await db().execute(sql.raw(`alter table audit_events disable trigger audit_events_no_update`));
    await db().execute(sql.raw(`delete from audit_events where id = ${rows[1]!.id}`));
    await db().execute(sql.raw(`alter table audit_events enable trigger audit_events_no_update`));
    expect(await verifyAudit(admin)).toMatchObject({ ok: false, first_broken_id: victim });
  });
});
