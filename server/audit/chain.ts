// Extending the audit chain: one writer at a time (an advisory lock), each row keyed-hashed onto the one before.
// record.ts (changes, denials) and denials.ts (queued refusals) both append through here.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { auditEvents } from "@/db/schema";
import type { AuditOutcome } from "@/db/schema";
import { actorLabel } from "../auth/actor";
import type { TxCtx } from "../context";
import { auditKey } from "../env";
import { GENESIS_HASH, HASH_VERSION, auditKeyId, keyedAuditHash } from "./hash";

// One writer extends the chain at a time: audit_chain_head() and audit_chain_expect() (migration 0039) take the
// transaction-scoped advisory lock 0x61756474 ("audt") before they read the chain's head.

export type AuditInput = {
  action: string;
  target: string;
  teamId?: string | null;
  team?: string | null;
  outcome?: AuditOutcome;
  details?: Record<string, unknown>;
  /** When it happened, if not now (a queued denial, see denials.ts). */
  at?: Date;
};

/** Appends one event to the chain using `db` (pass the transaction that makes the change). */
export async function appendAudit(db: DbOrTx, ctx: Omit<TxCtx, "db">, input: AuditInput): Promise<void> {
  await appendAudits(db, [{ ctx, input }]);
}

/**
 * The rows of `events` chained onto `head` (the last event's hash; null: the chain is empty), in the order
 * given, each keyed-hashed onto the one before it exactly as one appendAudit after another would chain them.
 * Write them only while holding the chain lock under which `head` was read (audit_chain_head, or a statement
 * that checks it with audit_chain_expect: migration 0039).
 */
export function chainAudits(head: string | null, events: readonly { ctx: Omit<TxCtx, "db">; input: AuditInput }[]) {
  let prevHash = head ?? GENESIS_HASH;
  const key = auditKey();
  return events.map(({ ctx: { actor, request }, input }) => {
    const fields = {
      at: input.at ?? new Date(),
      actorType: actor.kind,
      actorId: actor.kind === "token" ? actor.tokenId : actor.userId,
      actor: actorLabel(actor),
      action: input.action,
      target: input.target,
      teamId: input.teamId ?? null,
      team: input.team ?? null,
      outcome: input.outcome ?? "allowed",
      requestId: request.id,
      ip: request.ip ?? null,
      userAgent: request.userAgent ?? null,
      details: input.details ?? {},
    } as const;
    const hash = keyedAuditHash(key, prevHash, fields);
    const row = { ...fields, prevHash, hash, hashVersion: HASH_VERSION.keyed, keyId: auditKeyId(key) };
    prevHash = hash;
    return row;
  });
}

/** The chain's head (the last event's hash, null when empty), read under the chain lock, which `db`'s transaction then holds. */
export async function lockChainHead(db: DbOrTx): Promise<string | null> {
  const result = await db.execute(sql`select audit_chain_head() as head`);
  return (result as unknown as { rows: { head: string | null }[] }).rows[0]?.head ?? null;
}

/**
 * Appends events to the chain in the order given, under one chain lock and in one INSERT (a batch of changes
 * committed together). Each event is chained to the one before it exactly as one appendAudit after another
 * would chain them.
 */
export async function appendAudits(db: DbOrTx, events: readonly { ctx: Omit<TxCtx, "db">; input: AuditInput }[]): Promise<void> {
  if (events.length === 0) return;
  const rows = chainAudits(await lockChainHead(db), events);
  // One multi-row INSERT: PostgreSQL draws the ids in the order of the rows, so the chain runs in id order.
  await db.insert(auditEvents).values(rows);
}
