// Denied attempts are audited without the refusal waiting for the write. A refusal of another team's object
// answers "not found" like a missing one; if it also waited for its audit row (a transaction under the chain's
// lock) it would take a few milliseconds longer, and that difference alone would tell an attacker the object
// exists. Denials are queued and written shortly after, many per transaction, so a tenant who floods the API
// with refused requests neither holds the chain's lock once per request (slowing every team's audited
// changes) nor grows the trail one row per attempt: the same actor, action, target and address refused again
// before the write becomes one event with a `repeated` count. Readers of the trail (listAudit, verifyAudit)
// flush first, so what they show includes every refusal answered before the read.
//
// Bounds: each actor holds at most PER_ACTOR distinct pending refusals and all actors MAX_PENDING; past that an
// actor's excess is counted per team (one `audit.denials_coalesced` event with the team, the count and a few
// sample targets), so one tenant's flood neither hides its probes from the team they targeted nor blurs other
// tenants' refusals. Text that cannot be stored (NUL, half a surrogate pair) is replaced before queuing, a batch
// is written in chunks, and a chunk the database refuses is split until only the offending refusal is lost —
// recorded as an `audit.denials_lost` event with its count, never silently.
import type { Db } from "@/db/client";
import type { Ctx } from "../context";
import { SYSTEM_ACTOR, actorLabel } from "../auth/actor";
import { appendAudits, type AuditInput } from "./chain";
import { log } from "../observability/log";

/** How long a denial waits for others to share its transaction. */
const FLUSH_DELAY_MS = 25;
/** Distinct refusals pending per database, and per actor, before further ones are only counted. */
const MAX_PENDING = 2_000;
const PER_ACTOR = 200;
/** Rows per INSERT (PostgreSQL binds at most 65,535 parameters; a row takes 17). */
const CHUNK = 500;
const SAMPLE_TARGETS = 5;

type Pending = { key: string; who: string; ctx: Ctx; input: AuditInput & { at: Date }; count: number };
type Queue = { db: Db; pending: Map<string, Pending>; overflow: Map<string, Pending>; perActor: Map<string, number>; timer?: ReturnType<typeof setTimeout>; writing?: Promise<void> };

const QUEUES = Symbol.for("cairn.auditDenials");
const queues = ((globalThis as unknown as Record<symbol, Map<Db, Queue>>)[QUEUES] ??= new Map());

/** `text` with NULs and unpaired UTF-16 surrogates replaced, so the row stores exactly what was hashed. */
function storable(text: string): string {
  return text.replace(/\u0000/g, "\uFFFD").replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

function storableValue(value: unknown): unknown {
  if (typeof value === "string") return storable(value);
  if (Array.isArray(value)) return value.map(storableValue);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storableValue(v)]));
  return value;
}

function queueOf(db: Db): Queue {
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = { db, pending: new Map(), overflow: new Map(), perActor: new Map() }));
  return queue;
}

/** Queues a denied attempt for the audit trail; returns at once. */
export function queueDenial(ctx: Ctx, raw: AuditInput): void {
  const queue = queueOf(ctx.db);
  const input: AuditInput = {
    ...raw,
    action: storable(raw.action),
    target: storable(raw.target),
    team: raw.team == null ? raw.team : storable(raw.team),
    details: raw.details && (storableValue(raw.details) as Record<string, unknown>),
  };
  const who = actorLabel(ctx.actor);
  const key = JSON.stringify([who, input.action, input.target, ctx.request.ip ?? null]);
  const same = queue.pending.get(key);
  if (same) same.count += 1;
  else if (queue.pending.size < MAX_PENDING && (queue.perActor.get(who) ?? 0) < PER_ACTOR) {
    queue.pending.set(key, { key, who, ctx, input: { ...input, outcome: "denied", at: new Date() }, count: 1 });
    queue.perActor.set(who, (queue.perActor.get(who) ?? 0) + 1);
  } else overflow(queue, ctx, who, input, 1);
  schedule(queue);
}

/** Counts a refusal past the bounds on its actor's per-team event (the team only when it exists). */
function overflow(queue: Queue, ctx: Ctx, who: string, input: AuditInput, count: number): void {
  const teamId = input.teamId ?? null;
  const key = JSON.stringify([who, teamId]);
  const over = queue.overflow.get(key);
  if (over) {
    over.count += count;
    const samples = over.input.details!.sample_targets as string[];
    if (samples.length < SAMPLE_TARGETS && !samples.includes(input.target)) samples.push(input.target);
    return;
  }
  queue.overflow.set(key, {
    key, who, ctx, count,
    input: { action: "audit.denials_coalesced", target: "audit", teamId, team: teamId ? input.team : null, outcome: "denied", at: new Date(), details: { sample_targets: [input.target], first_action: input.action } },
  });
}

function schedule(queue: Queue): void {
  if (queue.timer || queue.writing) return;
  queue.timer = setTimeout(() => { queue.timer = undefined; void write(queue); }, FLUSH_DELAY_MS);
  queue.timer.unref?.();
}

type Event = { ctx: Pending["ctx"]; input: AuditInput };
const eventOf = ({ ctx, input, count }: Pending): Event => ({ ctx, input: count > 1 ? { ...input, details: { ...input.details, repeated: count } } : input });

/** Writes `events`; a chunk the database refuses is split until the offending rows alone are left out. Returns how many were lost. */
async function writeEvents(db: Db, events: Event[]): Promise<{ lost: number; error?: string }> {
  if (events.length === 0) return { lost: 0 };
  try {
    await db.transaction((tx) => appendAudits(tx, events));
    return { lost: 0 };
  } catch (err) {
    if (events.length === 1) return { lost: 1, error: err instanceof Error ? err.message : String(err) };
    const half = Math.ceil(events.length / 2);
    const [a, b] = [await writeEvents(db, events.slice(0, half)), await writeEvents(db, events.slice(half))];
    return { lost: a.lost + b.lost, error: a.error ?? b.error };
  }
}

function write(queue: Queue): Promise<void> {
  if (queue.writing) return queue.writing;
  const batch = [...queue.pending.values(), ...queue.overflow.values()];
  if (batch.length === 0) return Promise.resolve();
  queue.pending = new Map();
  queue.overflow = new Map();
  queue.perActor = new Map();
  queue.writing = (async () => {
    const events = batch.map(eventOf);
    let lost = 0;
    let error: string | undefined;
    for (let i = 0; i < events.length; i += CHUNK) {
      const r = await writeEvents(queue.db, events.slice(i, i + CHUNK));
      lost += r.lost;
      error ??= r.error;
    }
    if (lost > 0) {
      log.error(`audit: ${lost} denied attempts could not be written`, { err: error });
      const { ctx } = batch[0]!;
      await writeEvents(queue.db, [{ ctx: { ...ctx, actor: SYSTEM_ACTOR }, input: { action: "audit.denials_lost", target: "audit", outcome: "error", details: { lost, error: error?.slice(0, 500) } } }]);
    }
  })()
    .catch((err: unknown) => log.error("audit: writing denied attempts failed", { err }))
    .finally(() => {
      queue.writing = undefined;
      if (queue.pending.size > 0 || queue.overflow.size > 0) schedule(queue);
      else if (queues.get(queue.db) === queue && !queue.timer) queues.delete(queue.db);
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
    while (queue.writing || queue.pending.size > 0 || queue.overflow.size > 0) {
      if (queue.timer) { clearTimeout(queue.timer); queue.timer = undefined; }
      await (queue.writing ?? write(queue));
    }
  }));
}
