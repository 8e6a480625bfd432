// OIDC sign-in links to an existing account by email only when the provider says the email is verified.
import type { Account, Profile, User } from "next-auth";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "@/db/schema";
import { DEMO, demoDatabase } from "../testing/fixtures";
import { provisionOidcUser } from "./oidc";
import { authOptions } from "./options";

const db = demoDatabase();

const account = (subject: string) => ({ provider: "oidc", providerAccountId: subject, type: "oauth" }) as Account;
async function signInCallback(subject: string, email: string, profile: Record<string, unknown>): Promise<string | boolean> {
  const user = { id: subject, email, name: "Someone" } as User;
  return authOptions().callbacks!.signIn!({ user, account: account(subject), profile: { sub: subject, email, ...profile } as Profile });
}

describe("OIDC account linking", () => {
  it("refuses to link an existing account by an unverified (or unstated) email, with a clear sign-in error", async () => {
    for (const profile of [{ email_verified: false }, {}, { email_verified: "false" }]) {
      expect(await signInCallback("attacker-sub", DEMO.admin, profile)).toBe("/login?error=OidcEmailUnverified");
    }
    await expect(provisionOidcUser(db(), { subject: "attacker-sub", email: DEMO.admin, name: "x", emailVerified: false }))
      .rejects.toMatchObject({ code: "unauthenticated", message: expect.stringContaining("has not verified") });
    const [admin] = await db().select({ oidcSubject: users.oidcSubject }).from(users).where(eq(users.email, DEMO.admin));
    expect(admin!.oidcSubject).toBeNull();
  });

  it("links by a verified email, then finds the account by subject", async () => {
    expect(await signInCallback("lead-sub", DEMO.lead, { email_verified: true })).toBe(true);
    const [lead] = await db().select({ id: users.id, oidcSubject: users.oidcSubject }).from(users).where(eq(users.email, DEMO.lead));
    expect(lead!.oidcSubject).toBe("lead-sub");
    // Later sign-ins match the subject, whatever the claim says now.
    expect(await provisionOidcUser(db(), { subject: "lead-sub", email: DEMO.lead, name: "x", emailVerified: false })).toBe(lead!.id);
    // Another subject with the same (verified) email is a different identity.
    expect(await signInCallback("other-sub", DEMO.lead, { email_verified: true })).toBe("/login?error=OidcLinkedElsewhere");
  });

  it("a new person gets a new account", async () => {
    const id = await provisionOidcUser(db(), { subject: "new-sub", email: "New.SSO@example.com", name: "New", emailVerified: false });
    const [row] = await db().select({ email: users.email }).from(users).where(eq(users.id, id));
    expect(row!.email).toBe("new.sso@example.com");
  });
});
