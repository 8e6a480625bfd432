// Settings → Security: a user's own sessions and password. Ending the other sessions or changing the password
// revokes every device cookie of the account; nobody reaches another user's sessions; API tokens cannot act.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, loginFailures, users } from "@/db/schema";
import { changePasswordSchema } from "@/lib/schemas/account";
import type { Ctx } from "../context";
import { ctxFor, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { REAUTH_MAX_FAILURES, changeMyPassword, endMySession, endOtherSessions, listMySessions, mySecurity } from "./account";
import { issueDeviceToken } from "./device-cookie";
import type { LoginLimits } from "./login";
import { signInWithPassword } from "./login";
import { hashPassword } from "./passwords";
import { loadSessionActor, startSession } from "./sessions";
import { resolveTokenActor } from "./token-actor";

const db = demoDatabase();
const SECRET = "account-test-secret";
const LIMITS: LoginLimits = { maxFailures: 3, windowSeconds: 900 };
let n = 0;

/** A new user with a password, and a context acting from a fresh browser session of theirs. */
async function newUser(password: string | null = "first-password-1"): Promise<{ email: string; userId: string; sid: string; ctx: Ctx }> {
  const email = `account-${Date.now()}-${n++}@example.com`;
  const [user] = await db().insert(users).values({ email, name: "Account Owner", passwordHash: password ? await hashPassword(password) : null }).returning({ id: users.id });
  const ctx = await ctxFor(db(), email);
  const sid = await startSession(db(), user!.id, { userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0", ip: "10.1.1.1" });
  return { email, userId: user!.id, sid, ctx: { ...ctx, actor: { ...ctx.actor, sessionId: sid } as Ctx["actor"] } };
}

const live = (userId: string, sid: string) => loadSessionActor(db(), { sub: userId, sid });
const change = (ctx: Ctx, current: string, next: string) => changeMyPassword(ctx, changePasswordSchema.parse({ current_password: current, new_password: next, confirm_password: next }));

describe("account security", () => {
  it("lists the caller's live sessions with the current one marked, never another user's", async () => {
    const a = await newUser();
    const b = await newUser();
    const other = await startSession(db(), a.userId, { userAgent: "curl/8", ip: "10.2.2.2" });
    await startSession(db(), b.userId);
    const mine = await listMySessions(a.ctx);
    expect(mine.map((s) => s.id).sort()).toEqual([a.sid, other].sort());
    expect(mine.find((s) => s.id === a.sid)).toMatchObject({ current: true, ip: "10.1.1.1", user_agent: expect.stringContaining("Chrome") });
    expect(mine.find((s) => s.id === other)).toMatchObject({ current: false, ip: "10.2.2.2" });
    expect(await mySecurity(a.ctx)).toMatchObject({ has_password: true });
  });

  it("ends one of the caller's sessions; another user's session answers not found and keeps working", async () => {
    const a = await newUser();
    const b = await newUser();
    const second = await startSession(db(), a.userId);
    await expect(endMySession(a.ctx, second)).resolves.toEqual({ current: false });
    expect(await live(a.userId, second)).toBeNull();
    expect(await live(a.userId, a.sid)).not.toBeNull();
    await expect(endMySession(a.ctx, b.sid)).rejects.toMatchObject({ code: "not_found" });
    expect(await live(b.userId, b.sid)).not.toBeNull();
    await expect(endMySession(a.ctx, second)).rejects.toMatchObject({ code: "not_found" });
    const [audit] = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "session.end"), eq(auditEvents.target, `user:${a.email}`)));
    expect(audit).toMatchObject({ outcome: "allowed", details: { session: second, current: false } });
  });

  it("signs out every other session and revokes the account's device cookies, keeping this browser signed in", async () => {
    const a = await newUser("owner-password-1");
    const others = [await startSession(db(), a.userId), await startSession(db(), a.userId)];
    const oldDevice = issueDeviceToken(SECRET, a.email);
    // The attacker holds the owner's address back; the owner's old device cookie got through it until now.
    const ip = "10.3.3.3";
    for (let i = 0; i < LIMITS.maxFailures; i++) {
      await expect(signInWithPassword(db(), { email: a.email, password: "guess" }, { id: "r", ip }, LIMITS)).rejects.toMatchObject({ code: "unauthenticated" });
    }
    // Held for the whole window from here on (as after many more failures), whatever the test's pace.
    await db().update(loginFailures).set({ failures: 40 }).where(eq(loginFailures.key, `pair:${a.email}|${ip}`));
    await expect(signInWithPassword(db(), { email: a.email, password: "owner-password-1" }, { id: "r", ip }, LIMITS)).rejects.toMatchObject({ code: "rate_limited" });
    await expect(signInWithPassword(db(), { email: a.email, password: "owner-password-1" }, { id: "r", ip }, LIMITS, { secret: SECRET, tokens: [oldDevice] })).resolves.toBe(a.userId);

    const { ended } = await endOtherSessions(a.ctx);
    const [{ devicesValidAfter }] = (await db().select({ devicesValidAfter: users.devicesValidAfter }).from(users).where(eq(users.id, a.userId))) as [{ devicesValidAfter: Date }];
    expect(ended).toBe(2);
    for (const sid of others) expect(await live(a.userId, sid)).toBeNull();
    expect(await live(a.userId, a.sid)).not.toBeNull();
    // The old device cookie is an unknown device now: the address's backoff applies to it.
    await expect(signInWithPassword(db(), { email: a.email, password: "owner-password-1" }, { id: "r", ip }, LIMITS, { secret: SECRET, tokens: [oldDevice] })).rejects.toMatchObject({ code: "rate_limited" });
    // The cookie this browser is given afterwards is known.
    const fresh = issueDeviceToken(SECRET, a.email, devicesValidAfter.getTime() + 1);
    await expect(signInWithPassword(db(), { email: a.email, password: "owner-password-1" }, { id: "r", ip }, LIMITS, { secret: SECRET, tokens: [fresh] })).resolves.toBe(a.userId);
  });

  it("changes the password only with the current one, signs out the other sessions, and audits it", async () => {
    const a = await newUser("first-password-1");
    const other = await startSession(db(), a.userId);
    await expect(change(a.ctx, "wrong-password", "second-password-2")).rejects.toMatchObject({ code: "invalid_input", fields: { current_password: [expect.any(String)] } });
    await expect(change(a.ctx, "first-password-1", "first-password-1")).rejects.toMatchObject({ code: "invalid_input", fields: { new_password: [expect.any(String)] } });
    expect(await live(a.userId, other)).not.toBeNull();
    await expect(signInWithPassword(db(), { email: a.email, password: "first-password-1" }, { id: "r", ip: "10.4.4.1" }, LIMITS)).resolves.toBe(a.userId);

    await expect(change(a.ctx, "first-password-1", "second-password-2")).resolves.toMatchObject({ ended: expect.any(Number) });
    expect(await live(a.userId, other)).toBeNull();
    expect(await live(a.userId, a.sid)).not.toBeNull();
    await expect(signInWithPassword(db(), { email: a.email, password: "first-password-1" }, { id: "r", ip: "10.4.4.2" }, LIMITS)).rejects.toMatchObject({ code: "unauthenticated" });
    await expect(signInWithPassword(db(), { email: a.email, password: "second-password-2" }, { id: "r", ip: "10.4.4.3" }, LIMITS)).resolves.toBe(a.userId);
    const actions = (await db().select({ action: auditEvents.action, outcome: auditEvents.outcome }).from(auditEvents).where(eq(auditEvents.target, `user:${a.email}`)));
    expect(actions).toContainEqual({ action: "user.password_change", outcome: "allowed" });
    expect(actions).toContainEqual({ action: "auth.reauthenticate", outcome: "denied" });
  });

  it("the new password must follow the password rule and be repeated", () => {
    expect(changePasswordSchema.safeParse({ current_password: "x", new_password: "short", confirm_password: "short" }).success).toBe(false);
    const mismatch = changePasswordSchema.safeParse({ current_password: "x", new_password: "long-enough-1", confirm_password: "long-enough-2" });
    expect(mismatch.success).toBe(false);
    expect(mismatch.error?.issues[0]?.path).toEqual(["confirm_password"]);
  });

  it("an account with single sign-on only has no password to change", async () => {
    const a = await newUser(null);
    await expect(change(a.ctx, "anything-at-all", "second-password-2")).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("single sign-on") });
    expect(await mySecurity(a.ctx)).toMatchObject({ has_password: false });
  });

  it("refuses an API token and a user outside a browser session", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const tokenCtx = { ...(await ctxFor(db(), DEMO.ds)), actor: await resolveTokenActor(db(), token) };
    await expect(listMySessions(tokenCtx)).rejects.toMatchObject({ code: "forbidden" });
    await expect(endOtherSessions(tokenCtx)).rejects.toMatchObject({ code: "forbidden" });
    await expect(change(tokenCtx, "cairn-demo", "another-password-9")).rejects.toMatchObject({ code: "forbidden" });
    await expect(endOtherSessions(await ctxFor(db(), DEMO.ds))).rejects.toMatchObject({ code: "forbidden" });
  });

  it("signs out a session that keeps giving wrong current passwords, whatever addresses they come from", async () => {
    const a = await newUser("first-password-1");
    for (let i = 0; i < REAUTH_MAX_FAILURES; i++) {
      const ctx = { ...a.ctx, request: { ...a.ctx.request, ip: `10.9.${i}.1` } };
      await expect(change(ctx, `guess-${i}-password`, "second-password-2")).rejects.toMatchObject({ code: "invalid_input" });
    }
    await expect(change({ ...a.ctx, request: { ...a.ctx.request, ip: "10.9.99.1" } }, "first-password-1", "second-password-2")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(await live(a.userId, a.sid)).toBeNull();
    await expect(signInWithPassword(db(), { email: a.email, password: "first-password-1" }, { id: "r", ip: "10.9.100.1" }, LIMITS)).resolves.toBe(a.userId);
  });

  it("a session signed out meanwhile can neither sign the others out nor change the password; two changes at once do not both win", async () => {
    const a = await newUser("first-password-1");
    const owner = await startSession(db(), a.userId);
    const ownerCtx = { ...a.ctx, actor: { ...a.ctx.actor, sessionId: owner } as Ctx["actor"] };
    await endOtherSessions(ownerCtx);
    expect(await live(a.userId, a.sid)).toBeNull();
    await expect(endOtherSessions(a.ctx)).rejects.toMatchObject({ code: "unauthenticated" });
    await expect(change(a.ctx, "first-password-1", "thief-password-9")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(await live(a.userId, owner)).not.toBeNull();

    const b = await newUser("first-password-1");
    const second = await startSession(db(), b.userId);
    const bCtx2 = { ...b.ctx, actor: { ...b.ctx.actor, sessionId: second } as Ctx["actor"] };
    const results = await Promise.allSettled([change(b.ctx, "first-password-1", "second-password-A"), change(bCtx2, "first-password-1", "second-password-B")]);
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({ reason: { code: expect.stringMatching(/^(conflict|unauthenticated)$/) } });
  });
});
