// Server-side sessions behind the session JWT: each sign-in records a row whose id the JWT carries as
// `sid`; every request checks the row, sign-out revokes it. A copied cookie is worth nothing after
// sign-out, and a session ends at most SESSION_MAX_AGE_SECONDS after sign-in, however often it is used.
import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { sessions } from "@/db/schema";
import { UUID } from "@/lib/ids";
import type { UserActor } from "./actor";
import { loadUserActor } from "./load-actor";

export const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;

/** Records a new session for the user and returns its id; expired rows (anyone's) are pruned here. */
export async function startSession(db: Db, userId: string, from: { userAgent?: string; ip?: string } = {}): Promise<string> {
  await db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`));
  const [row] = await db
    .insert(sessions)
    .values({ userId, expiresAt: new Date(Date.now() + SESSION_MAX_AGE_SECONDS * 1000), userAgent: from.userAgent?.slice(0, 400) ?? null, ip: from.ip ?? null })
    .returning({ id: sessions.id });
  if (!row) throw new Error("session insert returned nothing");
  return row.id;
}

/** Ends one session (sign-out). Unknown or malformed ids are ignored. */
export async function endSession(db: DbOrTx, sessionId: unknown): Promise<void> {
  if (typeof sessionId !== "string" || !UUID.test(sessionId)) return;
  await db.update(sessions).set({ revokedAt: new Date() }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/** The actor of a session JWT's claims when its session is live, else null. */
export async function loadSessionActor(db: Db, claims: { sub?: unknown; sid?: unknown }): Promise<UserActor | null> {
  const { sub, sid } = claims;
  if (typeof sub !== "string" || typeof sid !== "string" || !UUID.test(sub) || !UUID.test(sid)) return null;
  const [live] = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, sid), eq(sessions.userId, sub), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)));
  if (!live) return null;
  const actor = await loadUserActor(db, sub);
  return actor ? { ...actor, sessionId: sid } : null;
}
