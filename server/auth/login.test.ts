import { describe, expect, it } from "vitest";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { listAudit } from "../audit/service";
import { signInWithPassword } from "./login";
import { hashPassword, verifyPassword } from "./passwords";

const db = demoDatabase();
const LIMITS = { maxFailures: 3, windowSeconds: 900 };

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
    const id = await signInWithPassword(db(), { email: "DS@Example.com ", password: "cairn-demo" }, { id: "r1", ip: "10.0.0.1" }, LIMITS);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("rate-limits an account after repeated failures, even with the right password, and audits it", async () => {
    const req = { id: "r2", ip: "10.0.0.2" };
    for (let i = 0; i < 3; i++) {
      await expect(signInWithPassword(db(), { email: DEMO.mle, password: "nope" }, req, LIMITS)).rejects.toMatchObject({ code: "unauthenticated" });
    }
    await expect(signInWithPassword(db(), { email: DEMO.mle, password: "cairn-demo" }, { id: "r3", ip: "10.0.0.3" }, LIMITS))
      .rejects.toMatchObject({ code: "rate_limited", message: expect.stringContaining("for this account") });
    // Another account from another address is unaffected.
    await expect(signInWithPassword(db(), { email: DEMO.lead, password: "cairn-demo" }, { id: "r4", ip: "10.0.0.4" }, LIMITS)).resolves.toBeTruthy();
    const { events } = await listAudit(await ctxFor(db(), DEMO.admin), { action: "auth.sign_in", outcome: "denied", limit: 50 });
    expect(events.some((e) => e.details.reason === "rate_limited" && e.target === `user:${DEMO.mle}`)).toBe(true);
  });

  it("rate-limits an address that tries many accounts", async () => {
    const req = { id: "r5", ip: "10.0.0.9" };
    for (let i = 0; i < LIMITS.maxFailures * 4; i++) {
      await expect(signInWithPassword(db(), { email: `spray${i}@example.com`, password: "x" }, req, LIMITS)).rejects.toMatchObject({ code: "unauthenticated" });
    }
    await expect(signInWithPassword(db(), { email: DEMO.ds, password: "cairn-demo" }, req, LIMITS))
      .rejects.toMatchObject({ code: "rate_limited", message: expect.stringContaining("from your address") });
  });
});
