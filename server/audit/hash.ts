// The audit chain's hash: SHA-256 over the previous hash and a canonical form of the row.
import { createHash } from "node:crypto";

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

export function auditHash(prevHash: string, f: HashedFields): string {
  const body = canonicalJson([
    f.at.toISOString(), f.actorType, f.actorId, f.actor, f.action, f.target, f.teamId, f.team,
    f.outcome, f.requestId, f.ip, f.userAgent, f.details,
  ]);
  return createHash("sha256").update(prevHash).update("\n").update(body).digest("hex");
}
