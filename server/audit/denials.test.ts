// Denied attempts are audited off the refusal's path (no timing difference between "not yours" and "not
// there"), coalesced when repeated, and shown by the audit trail's readers as soon as they were answered.
import { and, eq, gt, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { auditQuerySchema } from "@/lib/schemas/audit";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { loadExperiment } from "../tracking/access";
import { createExperiment } from "../tracking/experiments";
import { flushDenials, pendingDenials, queueDenial } from "./denials";
import { listAudit } from "./service";
import { verifyAudit } from "./verify";

const db = demoDatabase();
const uniq = () => `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
const rowsFor = (target: string) => db().select().from(auditEvents).where(and(eq(auditEvents.target, target), eq(auditEvents.outcome, "denied")));

describe("denied attempts in the audit trail", () => {
  it("answers a foreign team's read before its audit row is written, then writes it", async () => {
    const ds = await ctxFor(db(), DEMO.ds);
    const foreign = await ctxFor(db(), DEMO.dsFraud);
    const exp = await createExperiment(ds, { name: `denials-${uniq()}` });
    const target = `experiment:${exp.experiment_id}`;
    await flushDenials(db());
    await expect(loadExperiment(foreign, exp.experiment_id, { mode: "read" })).rejects.toMatchObject({ code: "not_found", message: `Could not find experiment with ID ${exp.experiment_id}` });
    // The refusal was answered with its audit row still queued: it did not wait for the write.
    expect(pendingDenials(db())).toBeGreaterThanOrEqual(1);
    await flushDenials(db());
    expect(await rowsFor(target)).toEqual([expect.objectContaining({ action: "tracking.read", actor: expect.stringContaining(DEMO.dsFraud), team: "churn", details: { mode: "read" } })]);
  });

  it("writes the same refusal repeated before the write as one row with its count", async () => {
    const foreign = await ctxFor(db(), DEMO.dsFraud);
    const target = `experiment:${700_000_000 + Math.floor(Math.random() * 1_000_000)}`;
    for (let i = 0; i < 20; i++) queueDenial(foreign, { action: "tracking.read", target, team: "churn", details: { mode: "read" } });
    await flushDenials(db());
    expect(await rowsFor(target)).toEqual([expect.objectContaining({ details: { mode: "read", repeated: 20 } })]);
  });

  it("writes queued refusals on its own, shortly after, and keeps the chain verifiable", async () => {
    const foreign = await ctxFor(db(), DEMO.dsFraud);
    const target = `experiment:${900_000_000 + Math.floor(Math.random() * 1_000_000)}`;
    queueDenial(foreign, { action: "tracking.read", target, team: "churn", details: { mode: "read" } });
    for (let i = 0; i < 100 && (await rowsFor(target)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await rowsFor(target)).toHaveLength(1);
    expect((await verifyAudit(await ctxFor(db(), DEMO.admin))).ok).toBe(true);
  });

  it("shows a refusal in the audit list as soon as it was answered", async () => {
    const foreign = await ctxFor(db(), DEMO.dsFraud);
    const target = `experiment:${800_000_000 + Math.floor(Math.random() * 1_000_000)}`;
    queueDenial(foreign, { action: "tracking.read", target, team: "churn", details: { mode: "read" } });
    const admin = await ctxFor(db(), DEMO.admin);
    const events = (await listAudit(admin, auditQuerySchema.parse({ limit: 500, outcome: "denied" }))).events.filter((e) => e.target === target);
    expect(events).toEqual([expect.objectContaining({ outcome: "denied", actor: expect.stringContaining(DEMO.dsFraud) })]);
  });

  it("bounds a flood of distinct refused targets per actor, still counting every attempt and naming the team probed", async () => {
    const foreign = await ctxFor(db(), DEMO.leadFraud);
    const ds = await ctxFor(db(), DEMO.ds);
    const exp = await createExperiment(ds, { name: `flooded-${uniq()}` });
    await flushDenials(db());
    const [{ maxId } = { maxId: 0 }] = await db().select({ maxId: sql<number>`coalesce(max(${auditEvents.id}), 0)::int` }).from(auditEvents);
    const prefix = `flood-${uniq()}`;
    for (let i = 0; i < 2_500; i++) queueDenial(foreign, { action: "tracking.read", target: `${prefix}:${i}`, team: `nosuch-${i}`, details: { mode: "read" } });
    // The probe that mattered, after the flood: churn's lead must still see that someone looked at churn.
    await expect(loadExperiment(foreign, exp.experiment_id, { mode: "read" })).rejects.toMatchObject({ code: "not_found" });
    await flushDenials(db());
    const written = (await db().select().from(auditEvents).where(gt(auditEvents.id, maxId))).filter((e) => e.actor.includes(DEMO.leadFraud));
    expect(written.length).toBeLessThanOrEqual(202);
    const counted = written.reduce((n, e) => n + (Number((e.details as { repeated?: number }).repeated) || 1), 0);
    expect(counted).toBe(2_501);
    const coalesced = written.filter((e) => e.action === "audit.denials_coalesced");
    expect(coalesced.find((e) => e.team === null)).toMatchObject({ details: { repeated: 2_300, sample_targets: expect.arrayContaining([`${prefix}:200`]) } });
    const lead = await ctxFor(db(), DEMO.lead);
    const seen = (await listAudit(lead, auditQuerySchema.parse({ limit: 500, team: "churn", outcome: "denied" }))).events;
    expect(seen.some((e) => e.target === `experiment:${exp.experiment_id}` || (e.action === "audit.denials_coalesced" && (e.details as { sample_targets?: string[] }).sample_targets?.includes(`experiment:${exp.experiment_id}`)))).toBe(true);
  });

  it("stores a refusal whose text cannot be stored as is, without losing the others queued with it", async () => {
    const foreign = await ctxFor(db(), DEMO.dsFraud);
    const other = await ctxFor(db(), DEMO.leadFraud);
    const target = `experiment:${600_000_000 + Math.floor(Math.random() * 1_000_000)}`;
    queueDenial(other, { action: "tracking.read", target, team: "churn", details: { mode: "read" } });
    queueDenial(foreign, { action: "team.restore", target: "team:x\u0000y\ud800", team: "x\u0000y", details: { mode: "write", note: "\udc00" } });
    await flushDenials(db());
    expect(await rowsFor(target)).toHaveLength(1);
    expect(await rowsFor("team:x\ufffdy\ufffd")).toEqual([expect.objectContaining({ team: "x\ufffdy", details: { mode: "write", note: "\ufffd" } })]);
    expect((await verifyAudit(await ctxFor(db(), DEMO.admin))).ok).toBe(true);
  });
});
