// Users who sign in through the OIDC provider are provisioned on first login (no team until added).
import { eq, or } from "drizzle-orm";
import type { Db } from "@/db/client";
import { users } from "@/db/schema";
import { appendAudit } from "../audit/record";
import { newRequestId } from "../context";
import { AppError } from "../errors";

export async function provisionOidcUser(db: Db, claims: { subject: string; email: string; name: string }): Promise<string> {
  const email = claims.email.trim().toLowerCase();
  if (!email.includes("@")) throw new AppError("invalid_input", "The identity provider did not share an email address.");
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: users.id, oidcSubject: users.oidcSubject })
      .from(users)
      .where(or(eq(users.oidcSubject, claims.subject), eq(users.email, email)));
    if (existing) {
      if (existing.oidcSubject && existing.oidcSubject !== claims.subject) {
        throw new AppError("conflict", `The account ${email} is linked to a different single sign-on identity.`);
      }
      if (!existing.oidcSubject) await tx.update(users).set({ oidcSubject: claims.subject }).where(eq(users.id, existing.id));
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
}
