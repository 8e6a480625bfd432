// Writing audit events: inside the caller's transaction for changes, on its own for denials and errors.
import { desc, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { auditEvents } from "@/db/schema";
import type { AuditOutcome } from "@/db/schema";
import { actorLabel } from "../auth/actor";
import { refusalFor } from "../auth/policy";
import type { Ctx, TxCtx } from "../context";
import { auditKey } from "../env";
import { AppError } from "../errors";
import { queueDenial } from "./denials";
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

/** Records an event in its own transaction (denied attempts, failures, sign-ins). */
export async function recordAudit(ctx: Ctx, input: AuditInput): Promise<void> {
  await ctx.db.transaction((tx) => appendAudit(tx, ctx, input));
}

/**
 * Audits a denied attempt (queued: the refusal does not wait for the write, see denials.ts) and returns the error to throw, shaped by the policy's `refusalFor`: anything
 * about another team's object answers not_found (`missing`, or `message` for reads), whatever the verb;
 * a write the actor's role does not allow in their own team answers forbidden (`message`).
 */
export async function denied(
  ctx: Ctx,
  input: Omit<AuditInput, "outcome"> & { mode: "read" | "write"; message?: string; missing?: string },
): Promise<AppError> {
  const { mode, message, missing, ...event } = input;
  queueDenial(ctx, { ...event, outcome: "denied", details: { ...event.details, mode } });
  if (refusalFor(ctx.actor, mode, input.teamId) === "not_found") {
    return new AppError("not_found", (mode === "read" ? message : missing) ?? `${input.target} was not found.`);
  }
  return new AppError("forbidden", message ?? `You are not allowed to ${input.action.replace(/[._]/g, " ")} (${input.target})`);
}
