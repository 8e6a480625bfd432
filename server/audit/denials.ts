// Denied attempts are audited without the refusal waiting for the write. A refusal of another team's object
// answers "not found" like a missing one; if it also waited for its audit row (a transaction under the chain's
// lock) it would take a few milliseconds longer, and that difference alone would tell an attacker the object
// exists. Denials are queued and written shortly after, many per transaction, so a tenant who floods the API
// with refused requests neither holds the chain's lock once per request (slowing every team's audited
// changes) nor grows the trail one row per attempt: the same actor, action, target and address refused again
// before the write becomes one event with a `repeated` count. Readers of the trail (listAudit, verifyAudit)
// flush first, so what they show includes every refusal answered before the read.
import type { Db } from "@/db/client";
import type { Ctx } from "../context";
import { actorLabel } from "../auth/actor";
import { appendAudits, type AuditInput } from "./chain";

/** How long a denial waits for others to share its transaction. */
const FLUSH_DELAY_MS = 25;
/** Distinct denials held per database before further ones are only counted (per actor). */
const MAX_PENDING = 2_000;
const MAX_ATTEMPTS = 3;

type Pending = { key: string; ctx: Ctx; input: AuditInput & { at: Date }; count: number };
type Queue = { db: Db; pending: Map<string, Pending>; overflow: Map<string, Pending>; timer?: ReturnType<typeof setTimeout>; writing?: Promise<void>; attempts: number };

const QUEUES = Symbol.for("cairn.auditDenials");
const queues = ((globalThis as unknown as Record<symbol, Map<Db, Queue>>)[QUEUES] ??= new Map());

/** Queues a denied attempt for the audit trail; returns at once. */
export function queueDenial(ctx: Ctx, input: AuditInput): void {
  let queue = queues.get(ctx.db);
  if (!queue) queues.set(ctx.db, (queue = { db: ctx.db, pending: new Map(), overflow: new Map(), attempts: 0 }));
  const who = actorLabel(ctx.actor);
  const key = JSON.stringify([who, input.action, input.target, ctx.request.ip ?? null]);
  const same = queue.pending.get(key);
  if (same) same.count += 1;
  else if (queue.pending.size < MAX_PENDING) queue.pending.set(key, { key, ctx, input: { ...input, outcome: "denied", at: new Date() }, count: 1 });
  else {
    // A flood of distinct targets: each actor's excess becomes one event saying how many were refused.
    const over = queue.overflow.get(who);
    if (over) over.count += 1;
    else queue.overflow.set(who, { key: who, ctx, input: { action: "audit.denials_coalesced", target: "audit", outcome: "denied", at: new Date(), details: {} }, count: 1 });
  }
  schedule(queue);
}

function schedule(queue: Queue): void {
  if (queue.timer || queue.writing) return;
  queue.timer = setTimeout(() => { queue.timer = undefined; void write(queue); }, FLUSH_DELAY_MS);
  queue.timer.unref?.();
}

function write(queue: Queue): Promise<void> {
  if (queue.writing) return queue.writing;
  const batch = [...queue.pending.values(), ...queue.overflow.values()];
  if (batch.length === 0) return Promise.resolve();
  queue.pending = new Map();
  queue.overflow = new Map();
  const events = batch.map(({ ctx, input, count }) => ({
    ctx,
    input: count > 1 ? { ...input, details: { ...input.details, repeated: count } } : input,
  }));
  queue.writing = queue.db
    .transaction((tx) => appendAudits(tx, events))
    .then(() => { queue.attempts = 0; })
    .catch((err: unknown) => {
      // Put the batch back for the next write, unless the database keeps refusing it.
      queue.attempts += 1;
      if (queue.attempts < MAX_ATTEMPTS) {
        for (const p of batch) {
          const into = p.input.action === "audit.denials_coalesced" ? queue.overflow : queue.pending;
          const since = into.get(p.key);
          into.set(p.key, since ? { ...p, count: p.count + since.count } : p);
        }
      } else {
        queue.attempts = 0;
        console.error(`audit: ${batch.length} denied attempts could not be written:`, err instanceof Error ? err.message : err);
      }
    })
    .finally(() => {
      queue.writing = undefined;
      if (queue.pending.size > 0 || queue.overflow.size > 0) schedule(queue);
      if (queues.get(queue.db) === queue && queue.pending.size === 0 && queue.overflow.size === 0 && !queue.timer) queues.delete(queue.db);
    });
  return queue.writing;
}

/** Denials queued for `db` and not yet written (counting repeats). */
export function pendingDenials(db: Db): number {
  const queue = queues.get(db);
  let n = 0;
  for (const p of [...(queue?.pending.values() ?? []), ...(queue?.overflow.values() ?? [])]) n += p.count;
  return n;
}

/** Writes every denial queued for `db` (all databases when omitted) and waits for it. */
export async function flushDenials(db?: Db): Promise<void> {
  const targets = db ? [queues.get(db)].filter((q): q is Queue => !!q) : [...queues.values()];
  await Promise.all(targets.map(async (queue) => {
    // A write in flight first, then whatever queued meanwhile.
    for (let i = 0; i < MAX_ATTEMPTS + 1 && (queue.writing || queue.pending.size > 0 || queue.overflow.size > 0); i++) {
      if (queue.timer) { clearTimeout(queue.timer); queue.timer = undefined; }
      await (queue.writing ?? write(queue));
    }
  }));
}
