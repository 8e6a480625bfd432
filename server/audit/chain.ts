// Extending the audit chain: one writer at a time (an advisory lock), each row keyed-hashed onto the one before.
// record.ts (changes, denials) and denials.ts (queued refusals) both append through here.
import { desc, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { auditEvents } from "@/db/schema";
import type { AuditOutcome } from "@/db/schema";
import { actorLabel } from "../auth/actor";
import type { TxCtx } from "../context";
import { auditKey } from "../env";
import { GENESIS_HASH, HASH_VERSION, auditKeyId, keyedAuditHash } from "./hash";

const CHAIN_LOCK = 0x6175_6474; // "audt": one writer extends the chain at a time

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
 * Appends events to the chain in the order given, under one chain lock and in one INSERT (a batch of changes
 * committed together, see tracking/run-create-batch.ts). Each event is chained to the one before it exactly as
 * one appendAudit after another would chain them.
 */
export async function appendAudits(db: DbOrTx, events: readonly { ctx: Omit<TxCtx, "db">; input: AuditInput }[]): Promise<void> {
  if (events.length === 0) return;
  await db.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`);
  const [last] = await db.select({ hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.id)).limit(1);
  let prevHash = last?.hash ?? GENESIS_HASH;
  const key = auditKey();
  const rows = events.map(({ ctx: { actor, request }, input }) => {
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
  // One multi-row INSERT: PostgreSQL draws the ids in the order of the rows, so the chain runs in id order.
  await db.insert(auditEvents).values(rows);
}

