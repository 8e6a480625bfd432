// A short-lived, in-process memory of verified API tokens, so a burst of requests with one token (a training
// script's runs/create, log-param, log-batch …) does not read the token, its user and their memberships
// from the database on every call.
//
// What is cached: the actor resolveTokenActor built (user, admin flag, memberships with roles, the token's
// team) and the token's expiry, by the token's SHA-256 — never the token itself. For how long: at most
// TOKEN_CACHE_MS (2 s) after it was read. What ends it at once: any change Cairn's own services make to who
// may act — a token revoked (by its owner, an admin, a job's end, a member's removal, a deactivation, an SSO
// takeover), a role changed, a member removed, a user deactivated or reactivated, a team archived or
// restored — calls authChanged() after its transaction commits, which empties the memory of this process.
// A change made elsewhere (another Cairn instance, SQL by hand) is honoured within TOKEN_CACHE_MS. Expiry is
// checked on every use. Paths that check the token inside their write statement (log-batch, tokenGrantSql)
// never use this memory.
import type { TokenActor } from "./actor";

export const TOKEN_CACHE_MS = 2_000;
const MAX_ENTRIES = 10_000;

type Entry = { actor: TokenActor; expiresAt: number; readAt: number };

// One memory per process: Next bundles server modules once per route, so a module-level object would give the
// revoking route and the route that reads the token two different memories.
const STATE = Symbol.for("cairn.tokenCache");
const state = ((globalThis as unknown as Record<symbol, { generation: number; entries: Map<string, Entry> }>)[STATE] ??= { generation: 0, entries: new Map<string, Entry>() });

/** The generation to pass to remember(): take it before reading the token from the database. */
export function cacheGeneration(): number {
  return state.generation;
}

/** The cached actor of the token hashed to `hash`, if read less than TOKEN_CACHE_MS ago and not expired since. */
export function recall(hash: string, now = Date.now()): TokenActor | null {
  const entry = state.entries.get(hash);
  if (!entry) return null;
  if (now - entry.readAt >= TOKEN_CACHE_MS || now >= entry.expiresAt) {
    state.entries.delete(hash);
    return null;
  }
  return entry.actor;
}

/**
 * Remembers a verification read at `readAt`, unless an authorization change was recorded since `generation`
 * was taken (the read may predate that change; the next request reads afresh).
 */
export function remember(hash: string, actor: TokenActor, expiresAt: Date, generation: number, readAt: number): void {
  if (generation !== state.generation) return;
  if (state.entries.size >= MAX_ENTRIES) state.entries.clear();
  state.entries.set(hash, { actor: { ...actor, memberships: actor.memberships.map((m) => ({ ...m })) }, expiresAt: expiresAt.getTime(), readAt });
}

/** Forget every verified token: call after committing any change to tokens, memberships, users or teams' archival. */
export function authChanged(): void {
  state.generation++;
  state.entries.clear();
}
