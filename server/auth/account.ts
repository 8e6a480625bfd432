// A signed-in user's own account security (Settings → Security): the browser sessions signed in as them,
// ending one or all the others, and changing the password. Ending the other sessions or changing the password
// also revokes every device cookie of the account (device-cookie.ts), so a browser that once signed in — a
// stolen laptop, a shared machine — is an unknown device again to the sign-in throttle. After a password change
// (which proved the password) the acting browser is given a fresh device cookie; after "sign out the others"
// (which a copied session cookie could ask for) it is not, and becomes known again at its next sign-in. Only a browser session may do these: an API token is refused.
import { and, desc, eq, gt, isNull, ne, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { sessions, users } from "@/db/schema";
import type { AccountSessionDto, ChangePasswordInput } from "@/lib/schemas/account";
import { appendAudit } from "../audit/record";
import type { Ctx } from "../context";
import { env } from "../env";
import { AppError, isAppError } from "../errors";
import type { UserActor } from "./actor";
import { addFailures, readCounters, signInWithPassword } from "./login";
import { hashPassword } from "./passwords";
import { endSession } from "./sessions";

type SessionCtx = Ctx & { actor: UserActor & { sessionId: string } };

function sessionActor(ctx: Ctx): SessionCtx {
  if (ctx.actor.kind !== "user" || !ctx.actor.sessionId) {
    throw new AppError("forbidden", "Sessions and passwords are managed from a signed-in browser (Settings → Security), not with an API token.");
  }
  return ctx as SessionCtx;
}

/** The caller's live browser sessions, newest first; the one acting is marked current. */
export async function listMySessions(ctx: Ctx): Promise<AccountSessionDto[]> {
  const { actor, db } = sessionActor(ctx);
  const rows = await db
    .select({ id: sessions.id, createdAt: sessions.createdAt, expiresAt: sessions.expiresAt, userAgent: sessions.userAgent, ip: sessions.ip })
    .from(sessions)
    .where(and(eq(sessions.userId, actor.userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)))
    .orderBy(desc(sessions.createdAt))
    .limit(200);
  return rows.map((r) => ({
    id: r.id,
    created_at: r.createdAt.toISOString(),
    expires_at: r.expiresAt.toISOString(),
    user_agent: r.userAgent,
    ip: r.ip,
    current: r.id === actor.sessionId,
  }));
}

/** What Settings → Security shows: the caller's sessions, and whether they have a Cairn password (not SSO only). */
export async function mySecurity(ctx: Ctx): Promise<{ sessions: AccountSessionDto[]; has_password: boolean }> {
  const s = sessionActor(ctx);
  const [sessionsList, [user]] = await Promise.all([
    listMySessions(s),
    s.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, s.actor.userId)),
  ]);
  return { sessions: sessionsList, has_password: Boolean(user?.passwordHash) };
}

/** Ends one of the caller's sessions (another browser, or this one: a sign-out). Another user's id is not found. */
export async function endMySession(ctx: Ctx, sessionId: string): Promise<{ current: boolean }> {
  const s = sessionActor(ctx);
  return s.db.transaction(async (tx) => {
    const [ended] = await tx
      .update(sessions)
      .set({ revokedAt: new Date() })
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, s.actor.userId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    if (!ended) throw new AppError("not_found", `Session ${sessionId} was not found among your signed-in sessions.`);
    await appendAudit(tx, s, { action: "session.end", target: `user:${s.actor.email}`, details: { session: sessionId, current: sessionId === s.actor.sessionId } });
    return { current: sessionId === s.actor.sessionId };
  });
}

/**
 * Ends every session of the caller but the acting one and revokes the account's device cookies (the acting browser
 * included: it is known again at its next sign-in). Returns how many sessions ended.
 */
export async function endOtherSessions(ctx: Ctx): Promise<{ ended: number }> {
  const s = sessionActor(ctx);
  return s.db.transaction(async (tx) => {
    await lockActingSession(tx, s);
    const revoked = await revokeOthers(tx, s);
    await appendAudit(tx, s, { action: "session.end_others", target: `user:${s.actor.email}`, details: { ended_sessions: revoked.ended } });
    return { ended: revoked.ended };
  });
}

/** The acting session, locked for the transaction; a session ended meanwhile (by its owner, an admin) may do nothing more. */
async function lockActingSession(tx: DbOrTx, s: SessionCtx): Promise<void> {
  const [live] = await tx
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, s.actor.sessionId), eq(sessions.userId, s.actor.userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)))
    .for("update");
  if (!live) throw new AppError("unauthenticated", "This session has been signed out; sign in again.");
}

async function revokeOthers(tx: DbOrTx, s: SessionCtx): Promise<{ ended: number; devicesValidAfter: Date }> {
  // The application's clock, the one device cookies are stamped with (device-cookie.ts), never the database's.
  const now = new Date();
  const ended = await tx
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, s.actor.userId), isNull(sessions.revokedAt), ne(sessions.id, s.actor.sessionId)))
    .returning({ id: sessions.id });
  await tx.update(users).set({ devicesValidAfter: now }).where(eq(users.id, s.actor.userId));
  return { ended: ended.length, devicesValidAfter: now };
}

/** Wrong current passwords one session may give before it is signed out (whatever the addresses it comes from). */
export const REAUTH_MAX_FAILURES = 5;

/**
 * Changes the caller's password after checking the current one (throttled and audited like a sign-in, and at most
 * REAUTH_MAX_FAILURES wrong ones per session: then the session is signed out, so a copied session cookie cannot
 * be used to guess the password), ends their other sessions and revokes the account's device cookies.
 */
export async function changeMyPassword(ctx: Ctx, input: ChangePasswordInput): Promise<{ ended: number; devicesValidAfter: Date }> {
  const s = sessionActor(ctx);
  const limits = env().login;
  const reauthKey = `reauth:${s.actor.sessionId}`;
  const [user] = await s.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, s.actor.userId));
  if (!user?.passwordHash) {
    throw new AppError("invalid_input", "Your account signs in with single sign-on and has no Cairn password; change it with your identity provider.");
  }
  if (input.new_password === input.current_password) {
    throw new AppError("invalid_input", "The new password is the same as the current one; choose a different one.", { fields: { new_password: ["Choose a password different from the current one"] } });
  }
  const failures = (await readCounters(s.db, [reauthKey], limits.windowSeconds)).get(reauthKey)?.failures ?? 0;
  if (failures >= REAUTH_MAX_FAILURES) {
    await endSession(s.db, s.actor.sessionId);
    throw new AppError("unauthenticated", "Too many wrong passwords: this session has been signed out. Sign in again.");
  }
  try {
    await signInWithPassword(s.db, { email: s.actor.email, password: input.current_password }, s.request, limits, undefined, "auth.reauthenticate");
  } catch (err) {
    if (isAppError(err) && err.code === "unauthenticated") {
      await addFailures(s.db, [reauthKey], limits.windowSeconds);
      throw new AppError("invalid_input", "The current password is not right; nothing was changed.", { fields: { current_password: ["Not your current password"] } });
    }
    throw err;
  }
  const hash = await hashPassword(input.new_password);
  const result = await s.db.transaction(async (tx) => {
    await lockActingSession(tx, s);
    // Two changes at once: the second finds the password it checked already replaced, and changes nothing.
    const [locked] = await tx.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, s.actor.userId)).for("update");
    if (locked?.passwordHash !== user.passwordHash) throw new AppError("conflict", "Your password was changed meanwhile (another browser?); nothing was changed here. Sign in again with the new one.");
    await tx.update(users).set({ passwordHash: hash }).where(eq(users.id, s.actor.userId));
    const revoked = await revokeOthers(tx, s);
    await appendAudit(tx, s, { action: "user.password_change", target: `user:${s.actor.email}`, details: { ended_sessions: revoked.ended } });
    return revoked;
  });
  return result;
}
