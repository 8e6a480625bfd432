// The worker runtime: the platform's background loops (job scheduler, job and serving resource samplers, deployment
// reconciler, production promotion, autoscaler, cost meter, tenant sync, audit anchor, approval expiry, rollup
// retention) under one start/stop, run by one leader.
//
//   request ──commit intent (+ audit) in one transaction──▶ wake(loop) ──▶ leader's loop ──▶ backend
//
// Services only commit intent and wake a loop; the loop, in the leading process only, carries it out and
// writes what it observed. Leadership is a PostgreSQL session advisory lock held on a connection of its own:
// when the leader dies its connection closes, the lock is free, and another process (each retries every
// CAIRN_LEADER_RETRY_MS) takes over and converges what the dead leader left (each loop's onLead). On PGlite
// the database lives inside this one process, which is therefore the leader. A wake from a process that does
// not lead travels as NOTIFY on the leader's channel, so the leader acts on it at once rather than at its
// next interval.
import { sql } from "drizzle-orm";
import pg from "pg";
import type { Db } from "@/db/client";
import { log } from "../observability/log";

export type LoopName = "jobs" | "job-resources" | "serving-resources" | "deployments" | "promotion" | "autoscale" | "costs" | "tenants" | "audit-anchor" | "approvals" | "rollups" | "splits" | "sweeps" | "alerts" | "budgets" | "platform" | "drift";

export interface Loop {
  readonly name: LoopName;
  /** How often the loop runs on its own (wakes run it sooner). */
  readonly intervalMs: number;
  /** Once when this process becomes the leader, before the first tick: converge what an earlier leader left. */
  onLead?(): Promise<void>;
  /** One pass: read intent and observed state, act, write what happened. Must be safe to repeat. */
  tick(): Promise<void>;
  /** When leadership ends (stop, or the lock's connection broke): let go of what this process runs. */
  onStepDown?(): Promise<void>;
}

export type Election =
  /** PGlite (or a test): this process is the only one, so it leads. */
  | { kind: "single" }
  /** PostgreSQL: a session advisory lock on a dedicated connection. */
  | { kind: "postgres"; url: string; retryMs: number; advertise?: string };

/**
 * The lock's key: "lead". One per database, so every Cairn process on the same database competes for it. It
 * must differ from every other advisory lock key (db/client.ts's migration lock is "cair"): a second process
 * starting up would otherwise wait for the leader's lock before it could migrate, forever.
 */
export const LEADER_LOCK = 0x6c65_6164;
export const WAKE_CHANNEL = "cairn_workers";
const LEADER_APP = "cairn-leader";

/**
 * Where the leading process is reached, as it advertised (CAIRN_INTERNAL_URL): read from the session that holds
 * the leader lock. Null when no process leads, or the leader advertised nothing.
 */
export async function leaderAddress(db: Db): Promise<string | null> {
  const result = await db.execute(sql`select a.application_name as app from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.objid = ${LEADER_LOCK} and l.granted limit 1`);
  const rows = (result as unknown as { rows: { app: string | null }[] }).rows;
  const app = rows[0]?.app ?? "";
  const url = app.startsWith(`${LEADER_APP} `) ? app.slice(LEADER_APP.length + 1) : null;
  return url && /^https?:\/\//.test(url) ? url : null;
}

export type WorkerStatus = { leader: boolean; since: string | null; loops: { name: LoopName; last_tick: string | null; last_error: string | null }[] };

type LoopState = { loop: Loop; timer: NodeJS.Timeout | null; running: Promise<void> | null; again: boolean; lastTick: Date | null; lastError: string | null };

export class WorkerRuntime {
  private readonly loops = new Map<LoopName, LoopState>();
  private leading = false;
  private leadingSince: Date | null = null;
  private stopped = true;
  private client: pg.Client | null = null;
  private campaignTimer: NodeJS.Timeout | null = null;
  private transition: Promise<void> = Promise.resolve();
  private readonly log: (message: string) => void;

  constructor(private readonly opts: { election: Election; loops: Loop[]; log?: (message: string) => void; notify?: (loop: LoopName) => Promise<void> }) {
    for (const loop of opts.loops) this.loops.set(loop.name, { loop, timer: null, running: null, again: false, lastTick: null, lastError: null });
    this.log = opts.log ?? ((m) => log.info(`workers: ${m}`));
  }

  /** Starts campaigning for leadership (PGlite: leads at once). Resolves once the first attempt is decided. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.opts.election.kind === "single") {
      await this.serialize(() => this.lead());
      return;
    }
    await this.campaign();
  }

  /** Stops every loop (waiting for passes under way), releases leadership and stops campaigning. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.campaignTimer) clearTimeout(this.campaignTimer);
    this.campaignTimer = null;
    await this.serialize(() => this.stepDown());
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  isLeader(): boolean {
    return this.leading;
  }

  status(): WorkerStatus {
    return {
      leader: this.leading,
      since: this.leadingSince?.toISOString() ?? null,
      loops: [...this.loops.values()].map((s) => ({ name: s.loop.name, last_tick: s.lastTick?.toISOString() ?? null, last_error: s.lastError })),
    };
  }

  /**
   * Work was committed for `loop`: the leader runs it now (a pass under way is followed by one more); a
   * process that does not lead tells the leader (NOTIFY). Never throws.
   */
  wake(name: LoopName): void {
    if (this.leading) {
      void this.run(name);
      return;
    }
    if (this.stopped || !this.opts.notify) return;
    this.opts.notify(name).catch((err: unknown) => this.log(`could not wake the leader's ${name} loop: ${message(err)}`));
  }

  /** Runs one pass of `name` now (or, when one is under way, one more after it) and resolves when done. */
  run(name: LoopName): Promise<void> {
    const s = this.loops.get(name);
    if (!s || !this.leading) return Promise.resolve();
    if (s.running) {
      s.again = true;
      return s.running;
    }
    s.running = (async () => {
      do {
        s.again = false;
        try {
          await s.loop.tick();
          s.lastError = null;
        } catch (err) {
          const text = message(err);
          if (text !== s.lastError) this.log(`${name} pass failed: ${text}`);
          s.lastError = text;
        }
        s.lastTick = new Date();
      } while (s.again && this.leading);
    })().finally(() => {
      s.running = null;
    });
    return s.running;
  }

  // ---- leadership ------------------------------------------------------------------------------------

  /** Leadership changes one at a time (a lost connection during a step-up waits for it, and so on). */
  private serialize(fn: () => Promise<void>): Promise<void> {
    const next = this.transition.then(fn, fn);
    this.transition = next.catch(() => undefined);
    return next;
  }

  private async lead(): Promise<void> {
    if (this.leading || this.stopped) return;
    this.leading = true;
    this.leadingSince = new Date();
    for (const s of this.loops.values()) {
      try {
        await s.loop.onLead?.();
      } catch (err) {
        this.log(`${s.loop.name}: converging at leadership failed: ${message(err)}`);
      }
    }
    for (const s of this.loops.values()) {
      if (!this.leading) return;
      s.timer = setInterval(() => void this.run(s.loop.name), s.loop.intervalMs);
      s.timer.unref();
      void this.run(s.loop.name);
    }
  }

  private async stepDown(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.leadingSince = null;
    for (const s of this.loops.values()) {
      if (s.timer) clearInterval(s.timer);
      s.timer = null;
    }
    await Promise.all([...this.loops.values()].map((s) => s.running));
    for (const s of this.loops.values()) {
      try {
        await s.loop.onStepDown?.();
      } catch (err) {
        this.log(`${s.loop.name}: stepping down failed: ${message(err)}`);
      }
    }
  }

  /** One attempt at the lock; on failure (or a broken connection) another after retryMs, until stopped. */
  private async campaign(): Promise<void> {
    const election = this.opts.election;
    if (election.kind !== "postgres" || this.stopped) return;
    this.campaignTimer = null;
    try {
      if (!this.client) {
        // The lock's session names where this process is reached, so the others find the leader (leaderAddress).
        const client = new pg.Client({ connectionString: election.url, application_name: `${LEADER_APP}${election.advertise ? ` ${election.advertise}` : ""}`.slice(0, 63) });
        client.on("error", (err) => this.lost(client, err));
        client.on("end", () => this.lost(client, new Error("the connection ended")));
        client.on("notification", (n) => {
          if (n.channel === WAKE_CHANNEL && n.payload && this.loops.has(n.payload as LoopName)) void this.run(n.payload as LoopName);
        });
        await client.connect();
        // Stopped while connecting: this connection must not go on to take the lock.
        if (this.stopped) {
          await client.end().catch(() => undefined);
          return;
        }
        this.client = client;
      }
      const client = this.client;
      const got = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1) as locked", [LEADER_LOCK]);
      if (this.stopped || this.client !== client) {
        // Stopped (or the connection replaced) while asking: let go of what was asked for.
        if (this.client === client) this.client = null;
        await client.end().catch(() => undefined);
        return;
      }
      if (got.rows[0]?.locked) {
        await client.query(`listen ${WAKE_CHANNEL}`);
        this.log(`this process (pid ${process.pid}) leads`);
        await this.serialize(() => this.lead());
        return;
      }
    } catch (err) {
      this.log(`campaigning for leadership failed: ${message(err)}`);
      const client = this.client;
      this.client = null;
      await client?.end().catch(() => undefined);
    }
    if (!this.stopped) {
      this.campaignTimer = setTimeout(() => void this.campaign(), election.retryMs);
      this.campaignTimer.unref();
    }
  }

  /** The lock's connection broke: the lock is gone with it, so stop acting at once and campaign again. */
  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.leading) this.log(`lost leadership: ${err.message}`);
    void this.serialize(() => this.stepDown()).then(() => {
      if (!this.stopped && this.opts.election.kind === "postgres" && !this.campaignTimer) {
        this.campaignTimer = setTimeout(() => void this.campaign(), this.opts.election.retryMs);
        this.campaignTimer.unref();
      }
    });
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
