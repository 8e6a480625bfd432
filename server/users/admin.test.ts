// Deactivating a user: no sign-in (password or single sign-on), sessions and API tokens stop at once —
// revoked, and refused even if one outlived the revocation — shown in the admin's users list; admins only.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { apiTokens, auditEvents, sessions, users } from "@/db/schema";
import { signInWithPassword } from "../auth/login";
import { provisionOidcUser } from "../auth/oidc";
import { authOptions } from "../auth/options";
import { hashPassword } from "../auth/passwords";
import { loadSessionActor, startSession } from "../auth/sessions";
import { resolveTokenActor } from "../auth/token-actor";
import { newRequestId } from "../context";
import { hashToken } from "../tokens/service";
import { createExperiment, createRun } from "../mlflow/test-client";
import { writeMetricPointsByToken } from "../tracking/metric-write";
import { actorFor, ctxFor, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { listUsers, setUserActive } from "./admin";
import { flushDenials } from "../audit/denials";

const db = demoDatabase();
const LIMITS = { maxFailures: 5, windowSeconds: 60, sleep: async () => undefined };
const request = () => ({ id: newRequestId(), ip: "10.9.9.9" });

describe("deactivating users", () => {
  it("refuses sign-in, ends sessions and tokens at once, and reactivation lets the user sign in again", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const ds = await actorFor(db(), DEMO.ds);
    const sid = await startSession(db(), ds.userId);
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const run = await createRun(token, await createExperiment(token, "deactivation"));
    const point = [{ key: "loss", value: 1, step: 0, timestamp: Date.now() }];
    expect(await writeMetricPointsByToken(db(), hashToken(token), run.run_id, point)).not.toBeNull();
    expect(await loadSessionActor(db(), { sub: ds.userId, sid })).toMatchObject({ email: DEMO.ds });
    await expect(resolveTokenActor(db(), token)).resolves.toMatchObject({ email: DEMO.ds });

    await expect(setUserActive(admin, { user_id: ds.userId, active: false })).resolves.toEqual({ email: DEMO.ds, active: false });

    // Password sign-in: refused with what to do, and audited.
    await expect(signInWithPassword(db(), { email: DEMO.ds, password: "cairn-demo" }, request(), LIMITS))
      .rejects.toMatchObject({ code: "unauthenticated", message: expect.stringContaining("deactivated") });
    // A wrong password still says only "wrong": the account's state is told to its owner alone.
    await expect(signInWithPassword(db(), { email: DEMO.ds, password: "nope" }, request(), LIMITS))
      .rejects.toMatchObject({ message: "Wrong email or password." });
    // The session: revoked, and a session row that outlived it (started in a race) is refused too.
    expect(await loadSessionActor(db(), { sub: ds.userId, sid })).toBeNull();
    const [row] = await db().select({ revokedAt: sessions.revokedAt }).from(sessions).where(eq(sessions.id, sid));
    expect(row!.revokedAt).not.toBeNull();
    const late = await startSession(db(), ds.userId);
    expect(await loadSessionActor(db(), { sub: ds.userId, sid: late })).toBeNull();
    // The token: revoked; and un-revoked by hand it is still refused for the deactivated account.
    await expect(resolveTokenActor(db(), token)).rejects.toMatchObject({ code: "unauthenticated", message: expect.stringContaining("revoked") });
    await db().update(apiTokens).set({ revokedAt: null }).where(eq(apiTokens.tokenHash, hashToken(token)));
    await expect(resolveTokenActor(db(), token)).rejects.toMatchObject({ code: "unauthenticated", message: expect.stringContaining("deactivated") });
    // The one-statement metric write checks the token where it writes: refused too.
    expect(await writeMetricPointsByToken(db(), hashToken(token), run.run_id, point)).toBeNull();
    // Listed as deactivated.
    expect((await listUsers(admin)).find((u) => u.email === DEMO.ds)).toMatchObject({ deactivated_at: expect.any(String), teams: [{ slug: "churn", role: "data_scientist" }] });

    await flushDenials(db());
    const audit = await db().select({ action: auditEvents.action, outcome: auditEvents.outcome, details: auditEvents.details }).from(auditEvents)
      .where(eq(auditEvents.target, `user:${DEMO.ds}`)).orderBy(auditEvents.id);
    expect(audit).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: "user.deactivate", outcome: "allowed", details: expect.objectContaining({ ended_sessions: 1, revoked_tokens: 1 }) }),
      expect.objectContaining({ action: "auth.sign_in", outcome: "denied", details: { reason: "deactivated" } }),
    ]));

    await setUserActive(admin, { user_id: ds.userId, active: true });
    expect(await signInWithPassword(db(), { email: DEMO.ds, password: "cairn-demo" }, request(), LIMITS)).toBe(ds.userId);
    expect(await loadSessionActor(db(), { sub: ds.userId, sid: await startSession(db(), ds.userId) })).toMatchObject({ email: DEMO.ds });
    // Tokens revoked by the deactivation stay revoked.
    await db().update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.tokenHash, hashToken(token)));
    expect((await listUsers(admin)).find((u) => u.email === DEMO.ds)!.deactivated_at).toBeNull();
  });

  it("refuses single sign-on for a deactivated account", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const [user] = await db().insert(users).values({ email: "sso.gone@example.com", name: "SSO", oidcSubject: "gone-sub" }).returning({ id: users.id });
    await setUserActive(admin, { user_id: user!.id, active: false });
    await expect(provisionOidcUser(db(), { subject: "gone-sub", email: "sso.gone@example.com", name: "SSO", emailVerified: true }))
      .rejects.toMatchObject({ code: "forbidden", message: expect.stringContaining("deactivated") });
    const signIn = authOptions().callbacks!.signIn!;
    const result = await signIn({
      user: { id: "gone-sub", email: "sso.gone@example.com", name: "SSO" },
      account: { provider: "oidc", providerAccountId: "gone-sub", type: "oauth" },
      profile: { sub: "gone-sub", email: "sso.gone@example.com", email_verified: true },
    } as Parameters<typeof signIn>[0]);
    expect(result).toBe("/login?error=AccountDeactivated");
  });

  it("only platform admins list and deactivate users; an admin cannot deactivate themselves", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const target = await actorFor(db(), DEMO.mle);
    for (const who of [DEMO.dsFraud, DEMO.lead, DEMO.leadFraud]) {
      const ctx = await ctxFor(db(), who);
      await expect(listUsers(ctx)).rejects.toMatchObject({ code: "forbidden" });
      await expect(setUserActive(ctx, { user_id: target.userId, active: false })).rejects.toMatchObject({ code: "forbidden" });
    }
    const [row] = await db().select({ deactivatedAt: users.deactivatedAt }).from(users).where(eq(users.id, target.userId));
    expect(row!.deactivatedAt).toBeNull();
    await expect(setUserActive(admin, { user_id: admin.actor.userId!, active: false })).rejects.toMatchObject({ code: "conflict" });
    await expect(setUserActive(admin, { user_id: "00000000-0000-0000-0000-000000000000", active: false })).rejects.toMatchObject({ code: "not_found" });
    await flushDenials(db());
    const denied = await db().select({ id: auditEvents.id }).from(auditEvents).where(and(eq(auditEvents.action, "user.deactivate"), eq(auditEvents.outcome, "denied")));
    expect(denied).toHaveLength(3);
    await expect(setUserActive(admin, { user_id: target.userId, active: false })).resolves.toMatchObject({ active: false });
  });

  it("lists every user with teams, sign-in methods and last activity — no secrets", async () => {
    await db().insert(users).values({ email: "pw.only@example.com", name: "Pw", passwordHash: await hashPassword("whatever-password") });
    const list = await listUsers(await ctxFor(db(), DEMO.admin));
    expect(list.find((u) => u.email === DEMO.admin)).toMatchObject({ is_admin: true, deactivated_at: null });
    expect(list.find((u) => u.email === DEMO.lead)).toMatchObject({ teams: [{ slug: "churn", role: "team_lead" }], sign_in: { password: true, sso: false } });
    expect(list.find((u) => u.email === "pw.only@example.com")).toMatchObject({ teams: [], last_active_at: null });
    expect(JSON.stringify(list)).not.toMatch(/scrypt|password_hash|passwordHash/);
  });
});
