// Credential sign-in with per-account and per-IP rate limiting of failures; every attempt is audited.
import { eq, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { loginFailures, users } from "@/db/schema";
import { recordAudit } from "../audit/record";
import type { RequestInfo } from "../context";
import { AppError } from "../errors";
import { ANONYMOUS_ACTOR } from "./actor";
import { loadUserActor } from "./load-actor";
import { verifyPassword } from "./passwords";

export type LoginLimits = { maxFailures: number; windowSeconds: number };
/** An address may fail this many times more than one account before it is blocked (shared NATs). */
const IP_FACTOR = 4;

async function failuresFor(db: Db, key: string, windowSeconds: number): Promise<number> {
  const [row] = await db.select().from(loginFailures).where(eq(loginFailures.key, key));
  if (!row || Date.now() - row.windowStart.getTime() > windowSeconds * 1000) return 0;
  return row.failures;
}

async function addFailure(db: Db, key: string, windowSeconds: number): Promise<void> {
  await db
    .insert(loginFailures)
    .values({ key, failures: 1, windowStart: new Date() })
    .onConflictDoUpdate({
      target: loginFailures.key,
      set: {
        failures: sql`case when ${loginFailures.windowStart} < now() - make_interval(secs => ${windowSeconds}) then 1 else ${loginFailures.failures} + 1 end`,
        windowStart: sql`case when ${loginFailures.windowStart} < now() - make_interval(secs => ${windowSeconds}) then now() else ${loginFailures.windowStart} end`,
      },
    });
}

/** Returns the user id for valid credentials; throws rate_limited or unauthenticated otherwise. */
export async function signInWithPassword(
  db: Db,
  input: { email: string; password: string },
  request: RequestInfo,
  limits: LoginLimits,
): Promise<string> {
  const email = input.email.trim().toLowerCase();
  const ctx = { actor: ANONYMOUS_ACTOR, db, request };
  const keys = { account: `email:${email}`, ip: `ip:${request.ip ?? "unknown"}` };
  const [accountFailures, ipFailures] = await Promise.all([
    failuresFor(db, keys.account, limits.windowSeconds),
    failuresFor(db, keys.ip, limits.windowSeconds),
  ]);
  const minutes = Math.ceil(limits.windowSeconds / 60);
  if (accountFailures >= limits.maxFailures || ipFailures >= limits.maxFailures * IP_FACTOR) {
    await recordAudit(ctx, { action: "auth.sign_in", target: `user:${email}`, outcome: "denied", details: { reason: "rate_limited" } });
    throw new AppError(
      "rate_limited",
      `Too many failed sign-in attempts ${accountFailures >= limits.maxFailures ? "for this account" : "from your address"}. Wait ${minutes} minutes and try again, or ask an admin to help.`,
    );
  }
  const [user] = await db.select({ id: users.id, passwordHash: users.passwordHash }).from(users).where(eq(users.email, email));
  const ok = await verifyPassword(input.password, user?.passwordHash ?? null);
  if (!user || !ok) {
    await addFailure(db, keys.account, limits.windowSeconds);
    await addFailure(db, keys.ip, limits.windowSeconds);
    await recordAudit(ctx, { action: "auth.sign_in", target: `user:${email}`, outcome: "denied", details: { reason: "bad_credentials" } });
    throw new AppError("unauthenticated", "Wrong email or password.");
  }
  await db.delete(loginFailures).where(eq(loginFailures.key, keys.account));
  const actor = await loadUserActor(db, user.id);
  if (actor) await recordAudit({ actor, db, request }, { action: "auth.sign_in", target: `user:${email}` });
  return user.id;
}
