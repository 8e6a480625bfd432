// Users who sign in through the OIDC provider are provisioned on first login (no team until added).
import { and, eq, isNull, or } from "drizzle-orm";
import type { Db } from "@/db/client";
import { apiTokens, sessions, users } from "@/db/schema";
import { appendAudit } from "../audit/record";
import { newRequestId } from "../context";
import { AppError } from "../errors";
import { authChanged } from "./token-cache";

export type OidcClaims = { subject: string; email: string; name: string; emailVerified: boolean };

/**
 * The user id for an OIDC sign-in: the account linked to the subject, else an existing account with the
 * same email (linked now, but only when the provider vouches for the email with `email_verified: true`:
 * otherwise anyone who can set that address at the provider would take the account over), else a new one.
 */
export async function provisionOidcUser(db: Db, claims: OidcClaims): Promise<string> {
  const email = claims.email.trim().toLowerCase();
  if (!email.includes("@")) throw new AppError("invalid_input", "The identity provider did not share an email address.");
  const userId = await db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: users.id, oidcSubject: users.oidcSubject, deactivatedAt: users.deactivatedAt, emailVerified: users.emailVerified })
      .from(users)
      .where(or(eq(users.oidcSubject, claims.subject), eq(users.email, email)));
    if (existing) {
      if (existing.deactivatedAt) throw new AppError("forbidden", `The account ${email} has been deactivated. Ask a platform admin to reactivate it.`);
      if (existing.oidcSubject && existing.oidcSubject !== claims.subject) {
        throw new AppError("conflict", `The account ${email} is linked to a different single sign-on identity.`);
      }
      if (!existing.oidcSubject) {
        if (!claims.emailVerified) {
          throw new AppError("unauthenticated", `Your identity provider has not verified ${email}, so single sign-on cannot be linked to the existing Cairn account with that email. Verify the address with your provider, or sign in with your password.`);
        }
        // An account made from an invitation never proved the email; the provider just did. Its owner takes it
        // over: whoever set its password (perhaps the inviter) loses the password, the sessions and the tokens.
        const takeover = !existing.emailVerified;
        await tx.update(users).set({ oidcSubject: claims.subject, emailVerified: true, ...(takeover ? { passwordHash: null } : {}) }).where(eq(users.id, existing.id));
        if (takeover) {
          const now = new Date();
          await tx.update(users).set({ devicesValidAfter: now }).where(eq(users.id, existing.id));
          await tx.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.userId, existing.id), isNull(sessions.revokedAt)));
          await tx.update(apiTokens).set({ revokedAt: now }).where(and(eq(apiTokens.userId, existing.id), isNull(apiTokens.revokedAt)));
        }
        await appendAudit(tx, {
          actor: { kind: "user", userId: existing.id, email, name: claims.name || email, isAdmin: false, memberships: [] },
          request: { id: newRequestId() },
        }, { action: "user.link_oidc", target: `user:${email}`, details: { provider: "oidc", ...(takeover ? { took_over_unverified_account: true } : {}) } });
      }
      return existing.id;
    }
    const [created] = await tx
      .insert(users)
      .values({ email, name: claims.name.trim() || email, oidcSubject: claims.subject })
      .returning({ id: users.id, email: users.email, name: users.name });
    if (!created) throw new Error("user insert returned nothing");
    await appendAudit(tx, {
      actor: { kind: "user", userId: created.id, email: created.email, name: created.name, isAdmin: false, memberships: [] },
      request: { id: newRequestId() },
    }, { action: "user.provision", target: `user:${email}`, details: { provider: "oidc" } });
    return created.id;
  });
  // A takeover revoked the account's tokens.
  authChanged();
  return userId;
}
