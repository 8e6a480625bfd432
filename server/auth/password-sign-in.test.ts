// The login form's sign-in (server action): the session it opens is the one next-auth's would be, and a
// refusal opens none.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "@/db/schema";
import { actorFor, DEMO, demoDatabase } from "../testing/fixtures";
import { passwordSignIn, usesSecureCookies } from "./password-sign-in";
import { resolveSessionActor } from "./request-actor";
import { installPeerAddressHook, PEER_HEADER, stampedPeer } from "./request-info";

// A proxy in front of the server, whose X-Forwarded-* are believed (read when the settings first load).
process.env.CAIRN_TRUSTED_PROXIES = "10.0.0.1";
installPeerAddressHook();
const db = demoDatabase();
/** A request from `ip` (the socket's address, as the server stamps it). */
const from = (ip: string, extra: Record<string, string> = {}) => new Headers({ [PEER_HEADER]: stampedPeer(ip), "user-agent": "vitest", ...extra });

describe("passwordSignIn", () => {
  it("opens a live session whose cookie resolves to the user", async () => {
    const result = await passwordSignIn({ email: " ds@example.com ", password: "cairn-demo" }, from("203.0.113.50"));
    if (!result.ok) throw new Error(result.error);
    expect(result.cookie).toMatchObject({ name: "next-auth.session-token", options: { httpOnly: true, sameSite: "lax", path: "/", secure: false } });
    const actor = await resolveSessionActor(db(), new Map([[result.cookie.name, result.cookie.value]]));
    expect(actor?.email).toBe(DEMO.ds);
  });

  it("refuses a wrong password, a missing field and an unknown account with the same words, opening no session", async () => {
    const ds = await actorFor(db(), DEMO.ds);
    const before = (await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, ds.userId))).length;
    expect(await passwordSignIn({ email: DEMO.ds, password: "wrong" }, from("203.0.113.51"))).toEqual({ ok: false, error: "Wrong email or password." });
    expect(await passwordSignIn({ email: "nobody@example.com", password: "wrong" }, from("203.0.113.51"))).toEqual({ ok: false, error: "Wrong email or password." });
    expect(await passwordSignIn({ email: DEMO.ds, password: "" }, from("203.0.113.51"))).toEqual({ ok: false, error: "Enter your email and password." });
    expect((await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, ds.userId))).length).toBe(before);
  });

  it("is throttled like next-auth's sign-in: repeated failures from one address make it wait", async () => {
    const h = from("203.0.113.52");
    let last = "";
    for (let i = 0; i < 12 && !last.startsWith("Too many attempts"); i++) {
      const r = await passwordSignIn({ email: DEMO.mle, password: `guess-${i}` }, h);
      last = r.ok ? "signed in" : r.error;
    }
    expect(last).toMatch(/^Too many attempts; try again in \d+ s\.$/);
  });

  it("gives the browser a device cookie with which its owner gets past an attacker at the same address", async () => {
    const first = await passwordSignIn({ email: DEMO.lead, password: "cairn-demo" }, from("203.0.113.60"));
    if (!first.ok) throw new Error(first.error);
    expect(first.device).toMatchObject({ name: "cairn-device", options: { httpOnly: true, sameSite: "lax", path: "/" } });
    const shared = "203.0.113.61";
    for (let i = 0; i < 6; i++) await passwordSignIn({ email: DEMO.lead, password: `guess-${i}` }, from(shared));
    expect(await passwordSignIn({ email: DEMO.lead, password: "cairn-demo" }, from(shared))).toMatchObject({ ok: false, error: expect.stringMatching(/^Too many attempts/) });
    const owner = await passwordSignIn({ email: DEMO.lead, password: "cairn-demo" }, from(shared, { cookie: `${first.device.name}=${first.device.value}` }));
    expect(owner.ok).toBe(true);
  });

  it("names the cookie as next-auth does behind https", () => {
    expect(usesSecureCookies(from("10.0.0.1", { "x-forwarded-proto": "https" }))).toBe(true);
    expect(usesSecureCookies(from("10.0.0.1", { "x-forwarded-proto": "http" }))).toBe(false);
    // Only a trusted proxy's word counts: a client's own header does not change the cookie.
    expect(usesSecureCookies(from("198.51.100.7", { "x-forwarded-proto": "https" }))).toBe(false);
    expect(usesSecureCookies(new Headers())).toBe(false);
  });
});
