// Credential sign-in with backoff that slows an attacker without locking the owner out (OWASP ASVS V6):
// - per (account, address): after `maxFailures` failures each further attempt from that address on that
//   account waits 1 s, 2 s, 4 s … (at most the window) — the attacker's address, not the account, is held;
// - per address across accounts (password spraying): the same from `maxFailures × 4` failures;
// - per account across addresses (a botnet): from `maxFailures × 4` failures every attempt on the account
//   is answered a little later (250 ms doubling, at most 5 s) — slowed, never refused, so the owner's correct
//   password from their own address keeps working.
// - a browser that presents a valid device cookie for the account (device-cookie.ts: it signed in to that
//   account before) is counted on its own: neither the address's nor the account's counts hold it back, only
//   its own failures do (backed off like an address), so an attacker sharing the owner's address cannot.
// Counts restart once an address's last failure is older than the window. Messages and counting are the
// same whether or not the account exists. Every attempt is audited.
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { loginFailures, users } from "@/db/schema";
import { recordAudit } from "../audit/record";
import type { RequestInfo } from "../context";
import { AppError } from "../errors";
import { ANONYMOUS_ACTOR } from "./actor";
import { verifyAnyDeviceToken } from "./device-cookie";
import { loadUserActor } from "./load-actor";
import { verifyPassword } from "./passwords";

export type LoginLimits = {
  maxFailures: number;
  windowSeconds: number;
  /** How the account-wide slowdown waits (tests pass a recorder). */
  sleep?: (ms: number) => Promise<void>;
};
/** An address may fail this many times more often (across accounts) than on one account (shared NATs). */
const IP_FACTOR = 4;
/** Failures on one account from all addresses before every attempt on it is slowed. */
const ACCOUNT_FACTOR = 4;
const ACCOUNT_BASE_DELAY_MS = 250;
const ACCOUNT_MAX_DELAY_MS = 5_000;

export const DEACTIVATED_MESSAGE = "This account has been deactivated. Ask a platform admin to reactivate it.";

type Counter = { failures: number; ageSeconds: number };

/** Seconds to wait after the last failure, once `failures` reached `free`: 1, 2, 4 … at most `cap`. */
export function backoffSeconds(failures: number, free: number, cap: number): number {
  return failures < free ? 0 : Math.min(2 ** Math.min(failures - free, 30), cap);
}

/** Failure counts of `keys` within the window (also used for re-entering a password, account.ts). */
export async function readCounters(db: Db, keys: string[], windowSeconds: number): Promise<Map<string, Counter>> {
  // Ages are measured on the database's clock, the same that stamped the failures.
  const rows = await db
    .select({ key: loginFailures.key, failures: loginFailures.failures, ageSeconds: sql<number>`extract(epoch from (now() - ${loginFailures.lastFailureAt}))::float8` })
    .from(loginFailures)
    .where(and(inArray(loginFailures.key, keys), sql`${loginFailures.lastFailureAt} >= now() - make_interval(secs => ${windowSeconds})`));
  return new Map(rows.map((r) => [r.key, { failures: r.failures, ageSeconds: Number(r.ageSeconds) }]));
}

/** Counts one failure on each of `keys`. */
export async function addFailures(db: Db, keys: string[], windowSeconds: number): Promise<void> {
  const stale = sql`${loginFailures.lastFailureAt} < now() - make_interval(secs => ${windowSeconds})`;
  await db.delete(loginFailures).where(lt(loginFailures.lastFailureAt, sql`now() - make_interval(secs => ${windowSeconds})`));
  for (const key of keys) {
    await db
      .insert(loginFailures)
      .values({ key, failures: 1 })
      .onConflictDoUpdate({
        target: loginFailures.key,
        set: {
          failures: sql`case when ${stale} then 1 else ${loginFailures.failures} + 1 end`,
          windowStart: sql`case when ${stale} then now() else ${loginFailures.windowStart} end`,
          lastFailureAt: sql`now()`,
        },
      });
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Attempts from one address (or, with none known, on one account) run one after another in this process, so
// a burst of simultaneous guesses cannot all be checked against the count before any of them has failed.
const CHAINS = Symbol.for("cairn.signInChains");
const chains = ((globalThis as unknown as Record<symbol, Map<string, Promise<unknown>>>)[CHAINS] ??= new Map());

function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (chains.get(key) ?? Promise.resolve()).then(fn, fn);
  const tail = run.then(() => undefined, () => undefined);
  chains.set(key, tail);
  void tail.then(() => { if (chains.get(key) === tail) chains.delete(key); });
  return run;
}

/** The browser's device cookies and the secret that signed them (none: an unknown device). */
export type DeviceProof = { secret: string; tokens: string[] };

/** Returns the user id for valid credentials; throws rate_limited or unauthenticated otherwise. */
export async function signInWithPassword(
  db: Db,
  input: { email: string; password: string },
  request: RequestInfo,
  limits: LoginLimits,
  device?: DeviceProof,
  /** The audited action: a sign-in, or re-entering the password to change it (account.ts). */
  action: "auth.sign_in" | "auth.reauthenticate" = "auth.sign_in",
): Promise<string> {
  const email = input.email.trim().toLowerCase();
  let nonce: string | undefined;
  if (device && device.tokens.length > 0) {
    // A device cookie issued before the owner revoked the account's devices is an unknown device.
    const [owner] = await db.select({ validAfter: users.devicesValidAfter }).from(users).where(eq(users.email, email));
    nonce = verifyAnyDeviceToken(device.secret, email, device.tokens, owner?.validAfter);
  }
  const key = nonce ? `device:${nonce}` : request.ip ? `ip:${request.ip}` : `email:${email}`;
  return oneAtATime(key, () => attempt(db, input, request, limits, nonce, action));
}

async function attempt(db: Db, input: { email: string; password: string }, request: RequestInfo, limits: LoginLimits, deviceNonce: string | undefined, action: string): Promise<string> {
  const email = input.email.trim().toLowerCase();
  const ctx = { actor: ANONYMOUS_ACTOR, db, request };
  const ip = request.ip;
  // A known device is counted on its own. Otherwise, without a client address (no peer hook) only the
  // account-wide slowdown applies: one shared "unknown" bucket would let an attacker hold everyone back.
  const keys = deviceNonce
    ? { account: `email:${email}`, device: `device:${deviceNonce}`, pair: undefined, ip: undefined }
    : { account: `email:${email}`, device: undefined, pair: ip ? `pair:${email}|${ip}` : undefined, ip: ip ? `ip:${ip}` : undefined };
  const counters = await readCounters(db, [keys.account, keys.device, keys.pair, keys.ip].filter((k): k is string => !!k), limits.windowSeconds);
  const waitFor = (key: string | undefined, free: number) => {
    const c = key ? counters.get(key) : undefined;
    return c ? backoffSeconds(c.failures, free, limits.windowSeconds) - c.ageSeconds : 0;
  };
  const wait = Math.max(waitFor(keys.device, limits.maxFailures), waitFor(keys.pair, limits.maxFailures), waitFor(keys.ip, limits.maxFailures * IP_FACTOR));
  if (wait > 0) {
    const seconds = Math.ceil(wait);
    await recordAudit(ctx, { action, target: `user:${email}`, outcome: "denied", details: { reason: "rate_limited", retry_after_seconds: seconds } });
    throw new AppError("rate_limited", `Too many attempts; try again in ${seconds} s.`);
  }
  const accountFailures = counters.get(keys.account)?.failures ?? 0;
  const accountThreshold = limits.maxFailures * ACCOUNT_FACTOR;
  if (!keys.device && accountFailures >= accountThreshold) {
    const delay = Math.min(ACCOUNT_BASE_DELAY_MS * 2 ** Math.min(accountFailures - accountThreshold, 10), ACCOUNT_MAX_DELAY_MS);
    await (limits.sleep ?? defaultSleep)(delay);
  }
  const [user] = await db.select({ id: users.id, passwordHash: users.passwordHash, deactivatedAt: users.deactivatedAt }).from(users).where(eq(users.email, email));
  const ok = await verifyPassword(input.password, user?.passwordHash ?? null);
  if (!user || !ok) {
    await addFailures(db, [keys.account, keys.device, keys.pair, keys.ip].filter((k): k is string => !!k), limits.windowSeconds);
    await recordAudit(ctx, { action, target: `user:${email}`, outcome: "denied", details: { reason: "bad_credentials" } });
    throw new AppError("unauthenticated", "Wrong email or password.");
  }
  const cleared = [keys.pair, keys.device].filter((k): k is string => !!k);
  if (cleared.length) await db.delete(loginFailures).where(inArray(loginFailures.key, cleared));
  // Said only to someone who knows the password, so it reveals nothing to a guesser.
  if (user.deactivatedAt) {
    await recordAudit(ctx, { action, target: `user:${email}`, outcome: "denied", details: { reason: "deactivated" } });
    throw new AppError("unauthenticated", DEACTIVATED_MESSAGE);
  }
  const actor = await loadUserActor(db, user.id);
  if (actor) await recordAudit({ actor, db, request }, { action, target: `user:${email}` });
  return user.id;
}
