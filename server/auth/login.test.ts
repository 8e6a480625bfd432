import { inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { loginFailures } from "@/db/schema";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { listAudit } from "../audit/service";
import { backoffSeconds, signInWithPassword } from "./login";
import type { LoginLimits } from "./login";
import { hashPassword, verifyPassword } from "./passwords";
import { DEVICE_MAX_AGE_SECONDS, deviceCookiesFrom, issueDeviceToken, verifyDeviceToken } from "./device-cookie";

const db = demoDatabase();
const LIMITS: LoginLimits = { maxFailures: 3, windowSeconds: 900 };
const req = (ip: string) => ({ id: `r-${ip}`, ip });

async function fail(email: string, ip: string, times: number, limits = LIMITS): Promise<void> {
  for (let i = 0; i < times; i++) {
    await expect(signInWithPassword(db(), { email, password: "nope" }, req(ip), limits)).rejects.toMatchObject({ code: "unauthenticated" });
  }
}

/** Moves every failure of these keys `seconds` into the past (instead of sleeping through a backoff). */
async function age(keys: string[], seconds: number): Promise<void> {
  await db().update(loginFailures).set({ lastFailureAt: sql`${loginFailures.lastFailureAt} - make_interval(secs => ${seconds})` }).where(inArray(loginFailures.key, keys));
}

describe("password sign-in", () => {
  it("hashes with a salt and verifies", async () => {
    const a = await hashPassword("s3cret");
    const b = await hashPassword("s3cret");
    expect(a).not.toBe(b);
    expect(a).not.toContain("s3cret");
    expect(await verifyPassword("s3cret", a)).toBe(true);
    expect(await verifyPassword("wrong", a)).toBe(false);
    expect(await verifyPassword("s3cret", null)).toBe(false);
  });

  it("accepts the demo password, case-insensitively on the email", async () => {
    const id = await signInWithPassword(db(), { email: "DS@Example.com ", password: "cairn-demo" }, req("10.0.0.1"), LIMITS);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("a burst of simultaneous guesses from one address is checked one at a time: only the free tries reach the password", async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () =>
      signInWithPassword(db(), { email: DEMO.mle, password: "nope" }, req("10.0.9.9"), LIMITS).then(() => "ok", (e: { code: string }) => e.code)));
    expect(results.filter((r) => r === "unauthenticated")).toHaveLength(LIMITS.maxFailures);
    expect(results.filter((r) => r === "rate_limited")).toHaveLength(12 - LIMITS.maxFailures);
  });

  it("backs off the attacker's address on that account, says how long, audits it — and the owner elsewhere still signs in", async () => {
    await fail(DEMO.admin, "10.0.1.1", 3);
    await expect(signInWithPassword(db(), { email: DEMO.admin, password: "cairn-demo" }, req("10.0.1.1"), LIMITS))
      .rejects.toMatchObject({ code: "rate_limited", message: "Too many attempts; try again in 1 s." });
    // The owner, from their own address, with the right password: no lockout.
    await expect(signInWithPassword(db(), { email: DEMO.admin, password: "cairn-demo" }, req("10.0.1.2"), LIMITS)).resolves.toMatch(/^[0-9a-f-]{36}$/);
    const { events } = await listAudit(await ctxFor(db(), DEMO.admin), { action: "auth.sign_in", outcome: "denied", limit: 50 });
    expect(events.some((e) => e.details.reason === "rate_limited" && e.target === `user:${DEMO.admin}`)).toBe(true);
  });

  it("doubles the wait with each further failure, up to the window, and starts over after it", async () => {
    expect([2, 3, 4, 5, 6, 40].map((f) => backoffSeconds(f, 3, 900))).toEqual([0, 1, 2, 4, 8, 900]);
    const pair = `pair:${DEMO.mle}|10.0.2.1`;
    await fail(DEMO.mle, "10.0.2.1", 3);
    await age([pair], 1.5); // the 1 s wait is over
    await fail(DEMO.mle, "10.0.2.1", 1);
    await expect(signInWithPassword(db(), { email: DEMO.mle, password: "nope" }, req("10.0.2.1"), LIMITS))
      .rejects.toMatchObject({ message: "Too many attempts; try again in 2 s." });
    await age([pair], 901);
    // After the window the count restarts: the right password works again from that address.
    await expect(signInWithPassword(db(), { email: DEMO.mle, password: "cairn-demo" }, req("10.0.2.1"), LIMITS)).resolves.toBeTruthy();
  });

  it("backs off an address that tries many accounts (spraying), not other addresses", async () => {
    for (let i = 0; i < LIMITS.maxFailures * 4; i++) {
      await expect(signInWithPassword(db(), { email: `spray${i}@example.com`, password: "x" }, req("10.0.3.1"), LIMITS)).rejects.toMatchObject({ code: "unauthenticated" });
    }
    await expect(signInWithPassword(db(), { email: DEMO.ds, password: "cairn-demo" }, req("10.0.3.1"), LIMITS))
      .rejects.toMatchObject({ code: "rate_limited", message: expect.stringMatching(/^Too many attempts; try again in \d+ s\.$/) });
    await expect(signInWithPassword(db(), { email: DEMO.ds, password: "cairn-demo" }, req("10.0.3.2"), LIMITS)).resolves.toBeTruthy();
  });

  it("an attack on one account from many addresses slows every attempt on it but never refuses the owner", async () => {
    const waited: number[] = [];
    const slow = { ...LIMITS, sleep: async (ms: number) => { waited.push(ms); } };
    for (let i = 0; i < LIMITS.maxFailures * 4; i++) await fail(DEMO.lead, `10.0.4.${i + 1}`, 1, slow);
    expect(waited).toEqual([]);
    await expect(signInWithPassword(db(), { email: DEMO.lead, password: "cairn-demo" }, req("10.0.5.1"), slow)).resolves.toBeTruthy();
    expect(waited).toEqual([250]);
    for (let i = 0; i < 10; i++) await fail(DEMO.lead, `10.0.6.${i + 1}`, 1, slow);
    expect(waited.at(-1)).toBe(5000); // the attacker, too, waits at every attempt
    waited.length = 0;
    await expect(signInWithPassword(db(), { email: DEMO.lead, password: "cairn-demo" }, req("10.0.5.1"), slow)).resolves.toBeTruthy();
    expect(waited).toEqual([5000]);
  });

  it("answers the same whether or not the account exists", async () => {
    await fail("nobody@example.com", "10.0.7.1", 3);
    await fail(DEMO.dsFraud, "10.0.7.2", 3);
    const errors = await Promise.all([
      signInWithPassword(db(), { email: "nobody@example.com", password: "x" }, req("10.0.7.1"), LIMITS).catch((e: Error) => e.message),
      signInWithPassword(db(), { email: DEMO.dsFraud, password: "x" }, req("10.0.7.2"), LIMITS).catch((e: Error) => e.message),
    ]);
    expect(errors[0]).toBe(errors[1]);
    expect(errors[0]).toBe("Too many attempts; try again in 1 s.");
  });

  describe("device cookies", () => {
    const SECRET = "test-secret-of-the-platform";

    it("a device token is bound to its account and the secret, and read from a Cookie header", () => {
      const token = issueDeviceToken(SECRET, "Owner@Example.com");
      expect(verifyDeviceToken(SECRET, "owner@example.com", token)).toMatchObject({ nonce: expect.stringMatching(/^[A-Za-z0-9_-]+$/) });
      expect(verifyDeviceToken(SECRET, "other@example.com", token)).toBeUndefined();
      expect(verifyDeviceToken("another-secret", "owner@example.com", token)).toBeUndefined();
      expect(verifyDeviceToken(SECRET, "owner@example.com", token.slice(0, -2) + "xx")).toBeUndefined();
      expect(verifyDeviceToken(SECRET, "owner@example.com", "v1..")).toBeUndefined();
      expect(verifyDeviceToken(SECRET, "owner@example.com", token.replace(/^v2\.([^.]+)\.([^.]+)\./, (_, n: string, t: string) => `v2.${n}.${(parseInt(t, 36) + 1).toString(36)}.`))).toBeUndefined();
      expect(verifyDeviceToken(SECRET, "owner@example.com", undefined)).toBeUndefined();
      expect(deviceCookiesFrom(`a=1; cairn-device=${token}; b=2`)).toEqual([token]);
      // A planted cookie ahead of the owner's (a longer path, a sibling domain) does not hide it.
      expect(deviceCookiesFrom(`cairn-device=planted; __Host-cairn-device=${token}`)).toEqual(["planted", token]);
      expect(deviceCookiesFrom("a=1")).toEqual([]);
    });

    it("a device token stops counting once the account's devices are revoked, and after its server-side life", () => {
      const issued = Date.parse("2026-06-01T10:00:00Z");
      const token = issueDeviceToken(SECRET, "owner@example.com", issued);
      expect(verifyDeviceToken(SECRET, "owner@example.com", token, null, issued + 1000)).toBeDefined();
      expect(verifyDeviceToken(SECRET, "owner@example.com", token, new Date(issued - 60_000), issued + 1000)).toBeDefined();
      // Revoked the moment it was issued, or later: not a known device any more.
      expect(verifyDeviceToken(SECRET, "owner@example.com", token, new Date(issued), issued + 1000)).toBeUndefined();
      expect(verifyDeviceToken(SECRET, "owner@example.com", token, new Date(issued - 1), issued + 1000)).toBeDefined();
      expect(verifyDeviceToken(SECRET, "owner@example.com", token, new Date(issued + 3_600_000), issued + 7_200_000)).toBeUndefined();
      expect(verifyDeviceToken(SECRET, "owner@example.com", token, null, issued + (DEVICE_MAX_AGE_SECONDS + 1) * 1000)).toBeUndefined();
      // A token from the future (a forged clock) is refused too.
      expect(verifyDeviceToken(SECRET, "owner@example.com", issueDeviceToken(SECRET, "owner@example.com", issued + 3_600_000), null, issued)).toBeUndefined();
    });

    it("an attacker sharing the owner's address cannot hold back the owner's known device", async () => {
      const ip = "10.0.8.1";
      const device = { secret: SECRET, tokens: ["planted-by-someone", issueDeviceToken(SECRET, DEMO.dsFraud)] };
      // The attacker, from the owner's address, without the device cookie: backed off.
      await fail(DEMO.dsFraud, ip, 3);
      for (let i = 0; i < LIMITS.maxFailures * 4 - 3; i++) await fail(`nat${i}@example.com`, ip, 1); // the address as a whole is held too
      await expect(signInWithPassword(db(), { email: DEMO.dsFraud, password: "cairn-demo" }, req(ip), LIMITS)).rejects.toMatchObject({ code: "rate_limited" });
      // The owner, same address, with the device cookie of an earlier sign-in: straight in.
      await expect(signInWithPassword(db(), { email: DEMO.dsFraud, password: "cairn-demo" }, req(ip), LIMITS, device)).resolves.toMatch(/^[0-9a-f-]{36}$/);
      // A forged or foreign device cookie counts as none.
      const forged = { secret: SECRET, tokens: [issueDeviceToken("not-the-secret", DEMO.dsFraud)] };
      await expect(signInWithPassword(db(), { email: DEMO.dsFraud, password: "cairn-demo" }, req(ip), LIMITS, forged)).rejects.toMatchObject({ code: "rate_limited" });
      const foreign = { secret: SECRET, tokens: [issueDeviceToken(SECRET, "attacker@example.com")] };
      await expect(signInWithPassword(db(), { email: DEMO.dsFraud, password: "cairn-demo" }, req(ip), LIMITS, foreign)).rejects.toMatchObject({ code: "rate_limited" });
    });

    it("a known device skips the account-wide slowdown but is itself backed off when it keeps failing", async () => {
      const waited: number[] = [];
      const slow = { ...LIMITS, sleep: async (ms: number) => { waited.push(ms); } };
      const device = { secret: SECRET, tokens: [issueDeviceToken(SECRET, DEMO.mle)] };
      for (let i = 0; i < LIMITS.maxFailures * 4; i++) await fail(DEMO.mle, `10.0.9.${i + 10}`, 1, slow);
      waited.length = 0;
      await expect(signInWithPassword(db(), { email: DEMO.mle, password: "cairn-demo" }, req("10.0.9.99"), slow, device)).resolves.toBeTruthy();
      expect(waited).toEqual([]);
      for (let i = 0; i < LIMITS.maxFailures; i++) {
        await expect(signInWithPassword(db(), { email: DEMO.mle, password: "nope" }, req(`10.0.10.${i + 1}`), slow, device)).rejects.toMatchObject({ code: "unauthenticated" });
      }
      // Even from a fresh address, the device that failed is held.
      await expect(signInWithPassword(db(), { email: DEMO.mle, password: "cairn-demo" }, req("10.0.11.1"), slow, device)).rejects.toMatchObject({ code: "rate_limited" });
    });
  });
});
