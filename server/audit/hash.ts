// The audit chain's hash over the previous hash and a canonical form of the row: HMAC-SHA256 under the
// audit key (hash_version 2), or plain SHA-256 for rows written before the chain was keyed (hash_version 1).
// Without the key, a changed row cannot be given a matching hash, so re-hashing the chain is detected.
import { createHash, createHmac } from "node:crypto";

export const GENESIS_HASH = "0".repeat(64);

export type HashedFields = {
  at: Date;
  actorType: string;
  actorId: string | null;
  actor: string;
  action: string;
  target: string;
  teamId: string | null;
  team: string | null;
  outcome: string;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
};

/** JSON with object keys sorted, so the form survives a round trip through jsonb. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export const HASH_VERSION = { legacy: 1, keyed: 2 } as const;
export type HashVersion = (typeof HASH_VERSION)[keyof typeof HASH_VERSION];

function body(f: HashedFields): string {
  return canonicalJson([
    f.at.toISOString(), f.actorType, f.actorId, f.actor, f.action, f.target, f.teamId, f.team,
    f.outcome, f.requestId, f.ip, f.userAgent, f.details,
  ]);
}

/** hash_version 1: plain SHA-256 (anyone can recompute it; kept to verify rows from before the key). */
export function legacyAuditHash(prevHash: string, f: HashedFields): string {
  return createHash("sha256").update(prevHash).update("\n").update(body(f)).digest("hex");
}

/** hash_version 2: HMAC-SHA256 under the audit key. */
export function keyedAuditHash(key: string, prevHash: string, f: HashedFields): string {
  return createHmac("sha256", key).update(prevHash).update("\n").update(body(f)).digest("hex");
}

/** A key's public fingerprint, stored with each row so a row written under another key is named as such. */
export function auditKeyId(key: string): string {
  return createHmac("sha256", key).update("cairn audit key id").digest("hex").slice(0, 16);
}
