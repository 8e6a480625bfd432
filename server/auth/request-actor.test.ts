import { and, eq } from "drizzle-orm";
import { encode } from "next-auth/jwt";
import { describe, expect, it } from "vitest";
import { GET as meGET } from "@/app/api/v1/me/route";
import { POST as teamsPOST } from "@/app/api/v1/teams/route";
import { auditEvents, memberships, sessions, teams, users } from "@/db/schema";
import { authSecret } from "../env";
import { actorFor, call, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { provisionOidcUser } from "./oidc";
import { authOptions } from "./options";
import { installPeerAddressHook, PEER_HEADER, stampedPeer } from "./request-info";
import { startSession } from "./sessions";

// The proxy in front of this test's server (read when the settings are first loaded, in the tests below).
process.env.CAIRN_TRUSTED_PROXIES = "10.0.0.1";
installPeerAddressHook();
const db = demoDatabase();

/** A session cookie as next-auth issues it at sign-in: the user id and a live session's id. */
async function sessionCookie(userId: string, sid?: string): Promise<string> {
  const jwt = await encode({ token: { sub: userId, sid: sid ?? (await startSession(db(), userId)) }, secret: authSecret() });
  return `next-auth.session-token=${jwt}`;
}

describe("request actors", () => {
  it("reads roles from the database on every request: removal takes effect on the next one", async () => {
    const mle = await actorFor(db(), DEMO.mle);
    const cookie = await sessionCookie(mle.userId);
    const token = await tokenFor(db(), DEMO.mle, "churn");
    const before = await call(meGET, { headers: { cookie } });
    expect(before.json).toMatchObject({ teams: [{ slug: "churn", role: "ml_engineer" }] });

    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    await db().delete(memberships).where(and(eq(memberships.userId, mle.userId), eq(memberships.teamId, churn!.id)));
    const after = await call(meGET, { headers: { cookie } });
    expect(after.status).toBe(200);
    expect(after.json).toMatchObject({ teams: [] });
    // The removed member's token for that team stops working at once.
    expect((await call(meGET, { token })).status).toBe(401);
    await db().insert(memberships).values({ userId: mle.userId, teamId: churn!.id, role: "ml_engineer" });
  });

  it("answers 401 for a forged or foreign-secret session, or a deleted user", async () => {
    expect((await call(meGET, { headers: { cookie: "next-auth.session-token=not-a-jwt" } })).status).toBe(401);
    const adminId = (await actorFor(db(), DEMO.admin)).userId;
    const forged = await encode({ token: { sub: adminId, sid: await startSession(db(), adminId) }, secret: "some-other-secret-0123456789" });
    expect((await call(meGET, { headers: { cookie: `next-auth.session-token=${forged}` } })).status).toBe(401);
    const ghost = await sessionCookie("00000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000001");
    expect((await call(meGET, { headers: { cookie: ghost } })).status).toBe(401);
  });

  it("checks Origin on cookie-authenticated writes (not on token writes)", async () => {
    const admin = await actorFor(db(), DEMO.admin);
    const cookie = await sessionCookie(admin.userId);
    const noOrigin = await call(teamsPOST, { method: "POST", headers: { cookie, host: "localhost" }, body: { slug: "csrf-a", name: "A" } });
    expect(noOrigin.status).toBe(403);
    const evil = await call(teamsPOST, { method: "POST", headers: { cookie, host: "localhost", origin: "https://evil.example" }, body: { slug: "csrf-b", name: "B" } });
    expect(evil.status).toBe(403);
    expect(await db().select().from(teams).where(eq(teams.slug, "csrf-b"))).toHaveLength(0);
    const same = await call(teamsPOST, { method: "POST", headers: { cookie, host: "localhost", origin: "http://localhost" }, body: { slug: "csrf-c", name: "C" } });
    expect(same.status).toBe(201);
    const token = await tokenFor(db(), DEMO.admin, "vision");
    expect((await call(teamsPOST, { method: "POST", token, body: { slug: "csrf-d", name: "D" } })).status).toBe(201);
  });

  it("believes X-Forwarded-Host/-For only from a listed proxy: the Origin check and the audit trail", async () => {
    const admin = await actorFor(db(), DEMO.admin);
    const cookie = await sessionCookie(admin.userId);
    // A client (not a listed proxy) names the attacker's site as the host: refused, nothing written.
    const forged = await call(teamsPOST, {
      method: "POST",
      headers: { cookie, host: "localhost", origin: "https://evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "https", [PEER_HEADER]: stampedPeer("203.0.113.9"), "x-forwarded-for": "198.51.100.1" },
      body: { slug: "xfh-a", name: "A" },
    });
    expect(forged.status).toBe(403);
    expect(await db().select().from(teams).where(eq(teams.slug, "xfh-a"))).toHaveLength(0);
    // Audit rows carry the socket's address, not the forged one.
    const token = await tokenFor(db(), DEMO.admin, "vision");
    const created = await call(teamsPOST, { method: "POST", token, headers: { [PEER_HEADER]: stampedPeer("203.0.113.9"), "x-forwarded-for": "198.51.100.1" }, body: { slug: "xfh-b", name: "B" } });
    expect(created.status).toBe(201);
    const [audit] = await db().select({ ip: auditEvents.ip }).from(auditEvents).where(and(eq(auditEvents.action, "team.create"), eq(auditEvents.target, "team:xfh-b")));
    expect(audit!.ip).toBe("203.0.113.9");
    // Through the listed proxy (10.0.0.1, see the top of this file) the forwarded host, scheme and client count.
    const proxied = await call(teamsPOST, {
      method: "POST",
      headers: { cookie, host: "10.0.0.5:3000", origin: "https://cairn.example", "x-forwarded-host": "cairn.example", "x-forwarded-proto": "https", [PEER_HEADER]: stampedPeer("10.0.0.1"), "x-forwarded-for": "198.51.100.1" },
      body: { slug: "xfh-c", name: "C" },
    });
    expect(proxied.status).toBe(201);
    const [viaProxy] = await db().select({ ip: auditEvents.ip }).from(auditEvents).where(and(eq(auditEvents.action, "team.create"), eq(auditEvents.target, "team:xfh-c")));
    expect(viaProxy!.ip).toBe("198.51.100.1");
  });

  it("judges a request with an Authorization header by that header alone", async () => {
    const cookie = await sessionCookie((await actorFor(db(), DEMO.admin)).userId);
    const r = await call(meGET, { headers: { cookie, authorization: "Bearer cairn_bogus" } });
    expect(r.status).toBe(401);
  });

  it("accepts the token as the password of basic auth (mlflow clients)", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const basic = Buffer.from(`anything:${token}`).toString("base64");
    const r = await call(meGET, { headers: { authorization: `Basic ${basic}` } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ user: { email: DEMO.ds } });
  });
});

describe("OIDC provisioning", () => {
  it("creates a user on first login with no team, and links an existing (verified) email", async () => {
    const id = await provisionOidcUser(db(), { subject: "idp|1", email: "New.Person@Example.com", name: "New Person", emailVerified: true });
    const [user] = await db().select().from(users).where(eq(users.id, id));
    expect(user).toMatchObject({ email: "new.person@example.com", oidcSubject: "idp|1", passwordHash: null, isAdmin: false });
    expect(await provisionOidcUser(db(), { subject: "idp|1", email: "new.person@example.com", name: "x", emailVerified: true })).toBe(id);
    const ds = await actorFor(db(), DEMO.ds);
    expect(await provisionOidcUser(db(), { subject: "idp|2", email: DEMO.ds, name: "Dana", emailVerified: true })).toBe(ds.userId);
    await expect(provisionOidcUser(db(), { subject: "idp|3", email: DEMO.ds, name: "Dana", emailVerified: true })).rejects.toMatchObject({ code: "conflict" });
    await expect(provisionOidcUser(db(), { subject: "idp|4", email: "", name: "", emailVerified: true })).rejects.toMatchObject({ code: "invalid_input" });
  });
});

describe("server-side sessions", () => {
  it("sign-out ends the session: a copied cookie stops working at once", async () => {
    const ds = await actorFor(db(), DEMO.ds);
    const sid = await startSession(db(), ds.userId);
    const cookie = await sessionCookie(ds.userId, sid);
    const copy = cookie;
    expect((await call(meGET, { headers: { cookie } })).status).toBe(200);
    // next-auth's sign-out hands the session's decoded JWT to events.signOut.
    await authOptions().events!.signOut!({ token: { sub: ds.userId, sid }, session: undefined as never });
    expect((await call(meGET, { headers: { cookie: copy } })).status).toBe(401);
    const [row] = await db().select({ revokedAt: sessions.revokedAt }).from(sessions).where(eq(sessions.id, sid));
    expect(row!.revokedAt).not.toBeNull();
    // Other sessions of the same user (another browser) go on.
    expect((await call(meGET, { headers: { cookie: await sessionCookie(ds.userId) } })).status).toBe(200);
  });

  it("refuses a JWT without a live session: none named, another user's, or past its 12 hours", async () => {
    const mle = await actorFor(db(), DEMO.mle);
    const bare = await encode({ token: { sub: mle.userId }, secret: authSecret() });
    expect((await call(meGET, { headers: { cookie: `next-auth.session-token=${bare}` } })).status).toBe(401);
    const adminSid = await startSession(db(), (await actorFor(db(), DEMO.admin)).userId);
    expect((await call(meGET, { headers: { cookie: await sessionCookie(mle.userId, adminSid) } })).status).toBe(401);
    const sid = await startSession(db(), mle.userId);
    await db().update(sessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sessions.id, sid));
    expect((await call(meGET, { headers: { cookie: await sessionCookie(mle.userId, sid) } })).status).toBe(401);
    // Expired rows are pruned at the next sign-in.
    await startSession(db(), mle.userId);
    expect(await db().select().from(sessions).where(eq(sessions.id, sid))).toHaveLength(0);
  });

  it("the JWT callback records a session at sign-in and keeps its id when the token is refreshed", async () => {
    const lead = await actorFor(db(), DEMO.lead);
    const jwt = authOptions().callbacks!.jwt!;
    const issued = await jwt({ token: {}, user: { id: lead.userId }, account: { provider: "credentials", providerAccountId: lead.userId, type: "credentials" } } as never);
    expect(issued).toMatchObject({ sub: lead.userId, sid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const [row] = await db().select({ userId: sessions.userId }).from(sessions).where(eq(sessions.id, String(issued.sid)));
    expect(row!.userId).toBe(lead.userId);
    expect(await jwt({ token: issued } as never)).toEqual({ sub: lead.userId, sid: issued.sid });
  });
});
