// What someone with database access (but not the audit key, nor the data dir) can do to the audit chain,
// and that verify reports each: an edited row, a chain re-hashed without the key, the newest rows deleted,
// TRUNCATE. And that a team lead's verify speaks of their teams' events only.
import { rmSync } from "node:fs";
import { asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { auditKey } from "../env";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { anchorFile, readAnchor, refreshAnchor } from "./anchor";
import { GENESIS_HASH, auditKeyId, keyedAuditHash, legacyAuditHash } from "./hash";
import { recordAudit } from "./record";
import { verifyAudit } from "./verify";

const db = demoDatabase();
type Row = typeof auditEvents.$inferSelect;

const TRIGGERS = ["audit_events_no_update", "audit_events_no_truncate"];

/** A DBA working on the table directly, the append-only triggers switched off for the duration. */
async function asDba(work: () => Promise<unknown>): Promise<void> {
  for (const t of TRIGGERS) await db().execute(sql.raw(`alter table audit_events disable trigger ${t}`));
  try {
    await work();
  } finally {
    for (const t of TRIGGERS) await db().execute(sql.raw(`alter table audit_events enable trigger ${t}`));
  }
}

const allRows = () => db().select().from(auditEvents).orderBy(asc(auditEvents.id));

/** Puts the table back as it was (ids included), so each attack starts from an intact chain. */
async function restore(saved: Row[]): Promise<void> {
  await asDba(async () => {
    await db().execute(sql`delete from audit_events`);
    for (const r of saved) await db().insert(auditEvents).values(r);
  });
}

/** Rewrites rows from `fromId` on with `hash` (content changed by `edit`), relinking every later row. */
async function rehashFrom(fromId: number, hash: (prev: string, r: Row) => { hash: string; hashVersion: 1 | 2 }, edit: (r: Row) => Row = (r) => r): Promise<void> {
  const rows = await allRows();
  let prev = GENESIS_HASH;
  await asDba(async () => {
    for (const original of rows) {
      if (original.id < fromId) {
        prev = original.hash;
        continue;
      }
      const r = original.id === fromId ? edit(original) : original;
      const next = hash(prev, r);
      await db().update(auditEvents).set({ details: r.details, prevHash: prev, hash: next.hash, hashVersion: next.hashVersion }).where(eq(auditEvents.id, r.id));
      prev = next.hash;
    }
  });
}

async function someEvents(n: number, team: "churn" | "fraud" = "churn"): Promise<void> {
  const ctx = await ctxFor(db(), team === "churn" ? DEMO.lead : DEMO.leadFraud);
  const teamId = ctx.actor.memberships[0]!.teamId;
  for (let i = 0; i < n; i++) await recordAudit(ctx, { action: "test.event", target: `thing:${i}`, teamId, team, details: { i } });
}

const forged = (r: Row): Row => ({ ...r, details: { ...r.details, forged: true } });

describe("audit chain against someone with database access", () => {
  it("keys new rows with an HMAC whose key is not in the database", async () => {
    await someEvents(3);
    const rows = await allRows();
    const key = auditKey();
    expect(rows.every((r) => r.hashVersion === 2 && r.keyId === auditKeyId(key))).toBe(true);
    const last = rows.at(-1)!;
    expect(last.hash).toBe(keyedAuditHash(key, last.prevHash, last));
    expect(last.hash).not.toBe(legacyAuditHash(last.prevHash, last));
    const dump = JSON.stringify(await db().execute(sql`select * from audit_events`));
    expect(dump).not.toContain(key);
  });

  it("refuses TRUNCATE in the database itself", async () => {
    const before = (await allRows()).length;
    const refused = await db().execute(sql`truncate audit_events`).then(() => null, (err: unknown) => err as Error & { cause?: Error });
    expect(refused?.cause?.message ?? refused?.message).toMatch(/append-only/);
    expect((await allRows()).length).toBe(before);
  });

  it("anchors the head outside the database and tolerates events appended since", async () => {
    const first = await refreshAnchor(db());
    expect(first.moved).toBe(true);
    const rows = await allRows();
    expect(readAnchor()).toMatchObject({ id: rows.at(-1)!.id, hash: rows.at(-1)!.hash, count: rows.length, keyed_from: rows[0]!.id });
    // Another instance (or this one between refreshes) appends beyond the anchor: still intact.
    await someEvents(2);
    const admin = await ctxFor(db(), DEMO.admin);
    expect(await verifyAudit(admin)).toMatchObject({ ok: true, anchor: "matched", first_broken_id: null, problem: null, scope: "all" });
    expect((await refreshAnchor(db())).anchor).toMatchObject({ count: rows.length + 2 });
  });

  it("detects an edited row", async () => {
    const saved = await allRows();
    const victim = saved[3]!;
    await asDba(() => db().update(auditEvents).set({ details: { forged: true } }).where(eq(auditEvents.id, victim.id)));
    const r = await verifyAudit(await ctxFor(db(), DEMO.admin));
    expect(r).toMatchObject({ ok: false, first_broken_id: victim.id });
    expect(r.problem).toMatch(/changed/);
    await restore(saved);
    expect((await verifyAudit(await ctxFor(db(), DEMO.admin))).ok).toBe(true);
  });

  it("detects a chain re-hashed without the key: with a guessed key, with the old plain hash, or rewritten whole", async () => {
    const saved = await allRows();
    const admin = await ctxFor(db(), DEMO.admin);
    const victim = saved[4]!.id;

    await rehashFrom(victim, (prev, r) => ({ hash: keyedAuditHash("a-guess-at-the-key-0123456789abcdef", prev, r), hashVersion: 2 }), forged);
    expect(await verifyAudit(admin)).toMatchObject({ ok: false, first_broken_id: victim });
    await restore(saved);

    await rehashFrom(victim, (prev, r) => ({ hash: legacyAuditHash(prev, r), hashVersion: 1 }), forged);
    const downgraded = await verifyAudit(admin);
    expect(downgraded).toMatchObject({ ok: false, first_broken_id: victim });
    expect(downgraded.problem).toMatch(/re-hashed without the key/);
    await restore(saved);

    // Every row rewritten under the old scheme from the genesis on: the anchor knows the chain was keyed.
    await rehashFrom(saved[0]!.id, (prev, r) => ({ hash: legacyAuditHash(prev, r), hashVersion: 1 }), forged);
    const whole = await verifyAudit(admin);
    expect(whole).toMatchObject({ ok: false, first_broken_id: saved[0]!.id, anchor: "broken" });
    await restore(saved);
    expect((await verifyAudit(admin)).ok).toBe(true);
  });

  it("detects deleted newest rows by the anchor, and the anchor does not move past them", async () => {
    await refreshAnchor(db());
    const saved = await allRows();
    const anchored = saved.at(-1)!.id;
    await asDba(() => db().execute(sql`delete from audit_events where id > ${saved.at(-4)!.id}`));
    const admin = await ctxFor(db(), DEMO.admin);
    const r = await verifyAudit(admin);
    expect(r).toMatchObject({ ok: false, anchor: "broken", first_broken_id: null });
    expect(r.problem).toContain(`event #${anchored} was anchored: the newest events were deleted`);
    // Later appends do not launder the deletion: the anchor refuses to move while its row is gone.
    await someEvents(1);
    const refresh = await refreshAnchor(db());
    expect(refresh).toMatchObject({ moved: false, problem: expect.stringMatching(/gone/) });
    expect(readAnchor()!.id).toBe(anchored);
    expect((await verifyAudit(admin)).ok).toBe(false);

    // TRUNCATE with the trigger switched off: the same.
    await asDba(() => db().execute(sql`truncate audit_events`));
    const truncated = await verifyAudit(admin);
    expect(truncated).toMatchObject({ ok: false, anchor: "broken", checked: 0 });
    expect(truncated.problem).toMatch(/truncated/);
    await restore(saved);
    expect(await verifyAudit(admin)).toMatchObject({ ok: true, anchor: "matched" });
  });

  it("detects a deletion in the middle re-linked by hand (the count and the keyed links)", async () => {
    await someEvents(4);
    await refreshAnchor(db());
    const saved = await allRows();
    const gone = saved[5]!;
    await asDba(async () => {
      await db().execute(sql`delete from audit_events where id = ${gone.id}`);
      await db().update(auditEvents).set({ prevHash: gone.prevHash }).where(eq(auditEvents.id, saved[6]!.id));
    });
    const r = await verifyAudit(await ctxFor(db(), DEMO.admin));
    expect(r).toMatchObject({ ok: false, first_broken_id: saved[6]!.id, anchor: "broken" });
    await restore(saved);
  });

  it("verifies rows from before the key under the old scheme, covered by the first keyed row", async () => {
    const saved = await allRows();
    // As the table stood before migration 0018: every row plain SHA-256, no key id.
    await rehashFrom(saved[0]!.id, (prev, r) => ({ hash: legacyAuditHash(prev, r), hashVersion: 1 }));
    await asDba(() => db().execute(sql`update audit_events set key_id = null`));
    const legacy = await allRows();
    const anchorPath = anchorFile();
    rmSync(anchorPath, { force: true });
    await someEvents(2, "fraud");
    const admin = await ctxFor(db(), DEMO.admin);
    expect(await verifyAudit(admin)).toMatchObject({ ok: true, anchor: "none" });
    const firstKeyed = (await allRows()).find((r) => r.hashVersion === 2)!;
    expect(firstKeyed.prevHash).toBe(legacy.at(-1)!.hash);
    expect((await refreshAnchor(db())).anchor).toMatchObject({ keyed_from: firstKeyed.id });
    // Editing an old row and re-hashing the old part (anyone can) breaks the first keyed row, whose HMAC covers the link.
    await rehashFrom(legacy[2]!.id, (prev, r) => r.hashVersion === 1 ? { hash: legacyAuditHash(prev, r), hashVersion: 1 } : { hash: r.hash, hashVersion: 2 }, forged);
    expect(await verifyAudit(admin)).toMatchObject({ ok: false, first_broken_id: firstKeyed.id });
    await restore(saved);
    rmSync(anchorPath, { force: true });
  });

  it("names a row written under another key as such", async () => {
    const saved = await allRows();
    const victim = saved.at(-1)!;
    await asDba(() => db().update(auditEvents).set({ keyId: "0123456789abcdef" }).where(eq(auditEvents.id, victim.id)));
    const r = await verifyAudit(await ctxFor(db(), DEMO.admin));
    expect(r).toMatchObject({ ok: false, first_broken_id: victim.id });
    expect(r.problem).toMatch(/another audit key.*CAIRN_AUDIT_KEY/);
    await restore(saved);
  });
});

describe("verify covers what the caller may see", () => {
  it("tells a team lead about their teams' events, and of a break elsewhere only that there is one", async () => {
    await someEvents(2, "churn");
    await someEvents(2, "fraud");
    const lead = await ctxFor(db(), DEMO.lead);
    const churnId = lead.actor.memberships.find((m) => m.role === "team_lead")!.teamId;
    const rows = await allRows();
    const churnRows = rows.filter((r) => r.teamId === churnId);
    expect(await verifyAudit(lead)).toMatchObject({ ok: true, scope: "own_teams", checked: churnRows.length, first_broken_id: null });

    const saved = rows;
    const fraudRow = rows.filter((r) => r.team === "fraud").at(-1)!;
    await asDba(() => db().update(auditEvents).set({ details: { forged: true } }).where(eq(auditEvents.id, fraudRow.id)));
    const scoped = await verifyAudit(lead);
    expect(scoped).toMatchObject({ ok: false, first_broken_id: null, scope: "own_teams" });
    expect(scoped.problem).toMatch(/outside your teams' events/);
    expect(scoped.problem).not.toContain(`#${fraudRow.id}`);
    expect(await verifyAudit(await ctxFor(db(), DEMO.admin))).toMatchObject({ ok: false, first_broken_id: fraudRow.id });

    const churnRow = churnRows.at(-1)!;
    await asDba(() => db().update(auditEvents).set({ details: { forged: true } }).where(eq(auditEvents.id, churnRow.id)));
    expect(await verifyAudit(lead)).toMatchObject({ ok: false, first_broken_id: churnRow.id });
    await restore(saved);

    // Deleted newest rows: the lead learns that, not which.
    await refreshAnchor(db());
    const anchored = (await allRows()).at(-1)!;
    await asDba(() => db().execute(sql`delete from audit_events where id = ${anchored.id}`));
    const behind = await verifyAudit(lead);
    expect(behind).toMatchObject({ ok: false, anchor: "broken", first_broken_id: null });
    expect(behind.problem).not.toContain(`#${anchored.id}`);
    await restore(saved);
    await expect(verifyAudit(await ctxFor(db(), DEMO.ds))).rejects.toMatchObject({ code: "forbidden" });
  });
});
