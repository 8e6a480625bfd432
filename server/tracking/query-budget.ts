// What one run search or metric-history read may cost: a few at once per team (so one team's heavy
// searches cannot take every database connection) and a statement timeout (so none runs for minutes).
// Issue 12: one team's 200-condition search ran 12 s and stalled another team's searches meanwhile.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { timedReads } from "@/db/client";
import { env } from "../env";
import { AppError } from "../errors";
import { forgetStatisticsCheck } from "./statistics";

export type BudgetTeam = { id: string; slug: string };
/** What the caller reads, in the words of the error messages: "search", "metric history read". */
export type BudgetWhat = "search" | "metric history read";

/** A read waiting for a slot, granted (or not) through `grant`. */
type Waiter = { grant: (granted: boolean) => void };
/** A team's slots: how many are taken (read or resting), the reads waiting, and the rests' timers. */
type Slots = { active: number; waiting: Waiter[]; resting: ReturnType<typeof setTimeout>[] };
/** A team's recent slot time: milliseconds held, decayed with a one-second time constant, as of `at`. */
type Busy = { ms: number; at: number };
type Budget = {
  slots: Map<string, Slots>;
  busy: Map<string, Busy>;
};

// One registry per process: Next bundles this module once per route, and the slots must be shared by all.
const REGISTRY = Symbol.for("cairn.queryBudget.slots");
const globals = globalThis as unknown as { [REGISTRY]?: Budget };

function budget(): Budget {
  return (globals[REGISTRY] ??= { slots: new Map(), busy: new Map() });
}

function registry(): Map<string, Slots> {
  return budget().slots;
}

const BUSY_TAU_MS = 1000;
/**
 * Another team competes for the database when it holds a slot now or its slots were busy at least this long over
 * about the last second (10 %): a team that only reads now and then (a page opened, a ping) paces nobody.
 */
const COMPETING_BUSY_MS = 100;

function busyNow(b: Busy, now: number): number {
  return b.ms * Math.exp(-(now - b.at) / BUSY_TAU_MS);
}

function addBusy(teamId: string, heldMs: number, now: number): void {
  const { busy } = budget();
  const b = busy.get(teamId);
  busy.set(teamId, { ms: (b ? busyNow(b, now) : 0) + heldMs, at: now });
}

/** Whether a team other than `teamId` (any team, for null) competes for the database now; forgets teams that went quiet. */
function othersReading(teamId: string | null, now: number): boolean {
  const { slots, busy } = budget();
  // Holding a slot now (a first read has no busy time yet).
  let others = false;
  for (const [team, s] of slots) if (team !== teamId && s.active > 0) others = true;
  for (const [team, b] of busy) {
    if (team === teamId) continue;
    const ms = busyNow(b, now);
    if (ms >= COMPETING_BUSY_MS) others = true;
    else if (ms < 1 && !(slots.get(team)?.active)) busy.delete(team);
  }
  return others;
}

/** Waits up to `waitMs` for one of the team's `limit` slots; false when none freed in time. */
function acquire(teamId: string, limit: number, waitMs: number): Promise<boolean> {
  const slots = registry().get(teamId) ?? { active: 0, waiting: [], resting: [] };
  registry().set(teamId, slots);
  if (slots.active < limit) {
    slots.active += 1;
    return Promise.resolve(true);
  }
  if (waitMs <= 0) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const waiter: Waiter = {
      grant: (granted: boolean) => {
        clearTimeout(timer);
        resolve(granted);
      },
    };
    const timer = setTimeout(() => {
      const at = slots.waiting.indexOf(waiter);
      if (at >= 0) slots.waiting.splice(at, 1);
      // A slot only resting (the pacing), not read: this read takes it now. Pacing spreads a team's reads out, it
      // never refuses one; only slots all busy reading for the whole wait do.
      const rest = slots.resting.shift();
      if (rest !== undefined) {
        clearTimeout(rest);
        resolve(true);
        return;
      }
      resolve(false);
    }, waitMs);
    slots.waiting.push(waiter);
  });
}

/**
 * Frees a slot held for `heldMs`. A waiting request of the same team takes it over (first come, first served) —
 * at once, unless the team asks for more than its slots while another team also reads: then the slot rests
 * `heldMs × (1 − share) ÷ share` first, so a flooding team's reads take at most `share` of its slots' time and
 * the rest of the machine (the database's cores, the event loop) stays with the others. A team that does not
 * queue beyond its slots is never paced; nor is one while every other team only reads now and then.
 */
function release(teamId: string, heldMs: number, share: number): void {
  const slots = registry().get(teamId);
  if (!slots) return;
  const now = performance.now();
  addBusy(teamId, heldMs, now);
  const rest = slots.waiting.length > 0 && share < 1 && othersReading(teamId, now) ? Math.min(heldMs * (1 - share) / share, MAX_REST_MS) : 0;
  if (rest <= 0) return handOver(teamId, slots);
  const timer = setTimeout(() => {
    const at = slots.resting.indexOf(timer);
    if (at >= 0) slots.resting.splice(at, 1);
    handOver(teamId, slots);
  }, rest);
  timer.unref?.();
  slots.resting.push(timer);
}

/** Longest rest after one read (a read that ran for seconds does not park the team's slot for longer). */
const MAX_REST_MS = 2000;

function handOver(teamId: string, slots: Slots): void {
  const next = slots.waiting.shift();
  if (next) return next.grant(true);
  slots.active -= 1;
  if (slots.active <= 0 && slots.waiting.length === 0) registry().delete(teamId);
}

/** Slots the team holds now in this process (for tests and diagnostics). */
export function slotsInUse(teamId: string): number {
  return registry().get(teamId)?.active ?? 0;
}

/**
 * Runs `fn` holding one of the team's slots for expensive reads. When the team already runs its limit and
 * none frees within the wait, answers rate_limited (429, Retry-After) without touching the database.
 */
export async function withTeamSlot<T>(team: BudgetTeam, what: BudgetWhat, fn: () => Promise<T>): Promise<T> {
  const { slotsPerTeam, slotWaitMs, floodShare } = env().queryLimits;
  if (!(await acquire(team.id, slotsPerTeam, slotWaitMs))) {
    const retryAfterSeconds = Math.max(1, Math.ceil(slotWaitMs / 1000));
    throw new AppError(
      "rate_limited",
      `Team ${team.slug} already runs ${slotsPerTeam} searches or metric history reads at once, the limit per team; this ${what} waited ${slotWaitMs / 1000} s for one to finish. Try again in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
    );
  }
  const started = performance.now();
  try {
    return await fn();
  } finally {
    release(team.id, performance.now() - started, floodShare);
  }
}

/**
 * While any team's reads hold query slots, a caller's refused requests (a 4xx answer other than 401 and 429) are
 * answered at most one per this many milliseconds ÷ CAIRN_QUERY_FLOOD_SHARE (80 ms at 0.25); the first at once.
 * Refusing is cheap, but a client firing refused requests back to back gets each answer at once and sends the next,
 * and their requests alone (read, parsed, answered) can take the whole event loop: issue 12's review fired
 * 200-condition searches from 8 clients, ~2,000 refusals a second, and another team's p50 went 10 → 31 ms.
 */
export const REFUSAL_CHARGE_MS = 20;

/** Callers' paced refusals: when each caller's next refusal may be answered (performance.now()). */
const REFUSALS = Symbol.for("cairn.queryBudget.refusals");
const refusalGlobals = globalThis as unknown as { [REFUSALS]?: Map<string, number> };
const MAX_REFUSAL_CALLERS = 10_000;

/**
 * Holds a refused request's answer so that one caller's refusals leave no faster than one per REFUSAL_CHARGE_MS ÷
 * share while any team reads (see REFUSAL_CHARGE_MS). A refusal now and then is answered at once; so is every
 * refusal while no team reads. An answer is never held longer than the slot wait: past that backlog a caller's
 * refusals are each held that long, so a caller with many connections still gets at most one answer per connection
 * per slot wait beyond the paced ones.
 */
export function paceRefusal(caller: string): Promise<void> | undefined {
  const { slotWaitMs, floodShare } = env().queryLimits;
  const now = performance.now();
  if (floodShare >= 1 || !othersReading(null, now)) return undefined;
  const due = refusalGlobals[REFUSALS] ??= new Map();
  const next = Math.max(now, due.get(caller) ?? 0);
  if (next - now >= slotWaitMs) return new Promise((r) => setTimeout(r, slotWaitMs));
  if (due.size >= MAX_REFUSAL_CALLERS) for (const [key, at] of due) if (at <= now) due.delete(key);
  due.set(caller, next + REFUSAL_CHARGE_MS / floodShare);
  return next > now ? new Promise((r) => setTimeout(r, next - now)) : undefined;
}

/** PostgreSQL's query_canceled (statement_timeout), whether the driver error is wrapped (drizzle's `cause`) or not. */
function isStatementTimeout(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ("code" in e && e.code === "57014") return true;
  }
  return false;
}

/**
 * Runs `fn` with statements that each stop after the configured timeout, answering a timeout as a clear 422
 * instead of a 500. On PostgreSQL `fn` gets connections opened with the timeout (db/client.ts timedReads): no
 * transaction and no SET, so a search makes three round trips fewer — each one a wake-up that waits for a core
 * while another team's search holds one. Inside a transaction, or on PGlite, `fn` runs in a transaction with
 * SET LOCAL (the pooled connection is back to normal afterwards). PGlite runs queries inside this process and
 * cannot interrupt one: there the filter cap and the search plans are what bound a statement (see the README).
 */
export async function withStatementTimeout<T>(db: DbOrTx, what: BudgetWhat, fn: (tx: DbOrTx) => Promise<T>): Promise<T> {
  const { timeoutMs } = env().queryLimits;
  try {
    const timed = timedReads(db, timeoutMs);
    if (timed) return await fn(timed);
    return await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('statement_timeout', ${String(timeoutMs)}, true)`);
      return fn(tx);
    });
  } catch (err) {
    if (!isStatementTimeout(err)) throw err;
    // A plan may have gone wrong on statistics that a bulk load made stale since the last check: check again now.
    forgetStatisticsCheck(db);
    const seconds = timeoutMs / 1000;
    const narrow = what === "search"
      ? "Narrow it: fewer conditions, a more selective one (such as params.x = '…'), a smaller page"
      : "Ask for fewer points or a range of steps";
    throw new AppError("invalid_input", `This ${what} was stopped after ${seconds} s, the limit for one request. ${narrow}; or try again when the platform is less busy.`, { status: 422 });
  }
}
