// The worker runtime: one start/stop for every loop, and one leader per database (a PostgreSQL advisory lock on
// a connection of its own; on PGlite the single process leads). Loops here are counters, so what is tested is
// the runtime itself: when passes run, who runs them, and what happens when the leader goes away.
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "@/db/client";
import type { TestDatabase } from "@/db/test-db";
import { createTestDatabase } from "@/db/test-db";
import type { Loop, LoopName } from "./runtime";
import { LEADER_LOCK, WAKE_CHANNEL, WorkerRuntime } from "./runtime";

const onPostgres = process.env.CAIRN_TEST_DB === "postgres";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
  return Date.now() - started;
}

/** A loop that counts its passes and what happened to it, in order, into a log shared by every runtime of a test. */
class Counter implements Loop {
  passes = 0;
  constructor(readonly name: LoopName, readonly intervalMs: number, private readonly who: string, private readonly log: string[], private readonly work: () => Promise<void> = async () => undefined) {}
  async onLead() { this.log.push(`${this.who} leads`); }
  async tick() {
    this.passes += 1;
    await this.work();
  }
  async onStepDown() { this.log.push(`${this.who} steps down`); }
}

const quiet = () => undefined;

describe("one process (PGlite)", () => {
  it("leads at once: converges, then runs each loop now and on its interval; a wake runs a pass sooner", async () => {
    const log: string[] = [];
    const fast = new Counter("costs", 50, "a", log);
    const slow = new Counter("jobs", 60_000, "a", log);
    const rt = new WorkerRuntime({ election: { kind: "single" }, loops: [fast, slow], log: quiet });
    await rt.start();
    try {
      expect(rt.isLeader()).toBe(true);
      expect(log).toEqual(["a leads", "a leads"]);
      await until("the first passes", () => fast.passes >= 1 && slow.passes === 1);
      await until("passes on the interval", () => fast.passes >= 4);
      expect(slow.passes).toBe(1);
      rt.wake("jobs");
      await until("the woken pass", () => slow.passes === 2);
      expect(rt.status()).toMatchObject({ leader: true, loops: [{ name: "costs", last_error: null }, { name: "jobs", last_error: null }] });
    } finally {
      await rt.stop();
    }
    const after = fast.passes;
    await sleep(200);
    expect(fast.passes).toBe(after);
    expect(rt.isLeader()).toBe(false);
    expect(log.at(-1)).toBe("a steps down");
  });

  it("runs one pass at a time per loop: wakes during a pass make exactly one more, and stop waits for the pass", async () => {
    let open!: () => void;
    let gate = new Promise<void>((r) => { open = r; });
    let inside = 0;
    let most = 0;
    const loop = new Counter("jobs", 60_000, "a", [], async () => {
      inside += 1;
      most = Math.max(most, inside);
      await gate;
      inside -= 1;
    });
    const rt = new WorkerRuntime({ election: { kind: "single" }, loops: [loop], log: quiet });
    await rt.start();
    await until("the first pass to start", () => loop.passes === 1);
    for (let i = 0; i < 5; i++) rt.wake("jobs");
    const release = () => { const o = open; gate = new Promise<void>((r) => { open = r; }); o(); };
    release();
    await until("the one extra pass", () => loop.passes === 2);
    release();
    await sleep(100);
    expect(loop.passes).toBe(2);
    expect(most).toBe(1);
    // A pass under way when stop is called finishes before stop resolves.
    rt.wake("jobs");
    await until("a third pass", () => loop.passes === 3);
    let stopped = false;
    const stopping = rt.stop().then(() => { stopped = true; });
    await sleep(50);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(inside).toBe(0);
  });

  it("a failing pass is logged once per distinct error and the loop keeps running", async () => {
    const messages: string[] = [];
    let n = 0;
    const loop = new Counter("costs", 30, "a", [], async () => {
      n += 1;
      if (n <= 3) throw new Error("the database is away");
    });
    const rt = new WorkerRuntime({ election: { kind: "single" }, loops: [loop], log: (m) => messages.push(m) });
    await rt.start();
    try {
      await until("passes after the failures", () => loop.passes >= 5);
      expect(messages).toEqual(["costs pass failed: the database is away"]);
      expect(rt.status().loops[0]!.last_error).toBeNull();
    } finally {
      await rt.stop();
    }
  });
});

describe.runIf(onPostgres)("several processes on one PostgreSQL", () => {
  let database: TestDatabase;
  let url = "";
  beforeAll(async () => {
    database = await createTestDatabase();
    url = database.url!;
  });
  afterAll(async () => {
    await database?.close();
  });

  function runtime(who: string, log: string[], opts: { notify?: boolean } = {}) {
    const loop = new Counter("jobs", 60_000, who, log);
    const rt = new WorkerRuntime({
      election: { kind: "postgres", url, retryMs: 200 },
      loops: [loop],
      log: quiet,
      ...(opts.notify ? { notify: async (name: LoopName) => { await database.db.execute(sql`select pg_notify(${WAKE_CHANNEL}, ${name})`); } } : {}),
    });
    return { rt, loop };
  }

  it("exactly one leads; the other takes over within a second when the leader stops, and never while it leads", async () => {
    const log: string[] = [];
    const a = runtime("a", log);
    const b = runtime("b", log);
    await a.rt.start();
    await b.rt.start();
    try {
      expect(a.rt.isLeader()).toBe(true);
      expect(b.rt.isLeader()).toBe(false);
      await sleep(600); // several campaigns of b
      expect(b.rt.isLeader()).toBe(false);
      expect(b.loop.passes).toBe(0);
      await a.rt.stop();
      const took = await until("b to lead", () => b.rt.isLeader(), 5000);
      expect(took).toBeLessThan(1000);
      expect(log).toEqual(["a leads", "a steps down", "b leads"]);
      await until("b's first pass", () => b.loop.passes === 1);
    } finally {
      await a.rt.stop();
      await b.rt.stop();
    }
  });

  it("a leader whose lock connection breaks steps down at once; the lock is taken again by one of them", async () => {
    const log: string[] = [];
    const a = runtime("a", log);
    const b = runtime("b", log);
    await a.rt.start();
    await b.rt.start();
    try {
      expect(a.rt.isLeader()).toBe(true);
      // The database ends the leader's session (a network cut, a failover): its lock is gone with it.
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        const holders = await admin.query<{ pid: number }>("select pid from pg_locks where locktype = 'advisory' and objid = $1 and granted", [LEADER_LOCK]);
        expect(holders.rows).toHaveLength(1);
        await admin.query("select pg_terminate_backend($1)", [holders.rows[0]!.pid]);
      } finally {
        await admin.end();
      }
      await until("a to step down", () => !a.rt.isLeader(), 5000);
      await until("someone to lead again", () => a.rt.isLeader() || b.rt.isLeader(), 5000);
      // Never two at once: every "leads" is followed by that one's "steps down" before another "leads".
      let holder: string | null = null;
      for (const entry of log) {
        const [who, what] = entry.split(" ", 2) as [string, string];
        if (what === "leads") {
          expect(holder).toBeNull();
          holder = who;
        } else {
          expect(holder).toBe(who);
          holder = null;
        }
      }
      expect([a.rt.isLeader(), b.rt.isLeader()].filter(Boolean)).toHaveLength(1);
    } finally {
      await a.rt.stop();
      await b.rt.stop();
    }
  });

  it("a process starting while another leads opens and migrates the database (the leader's lock is not the migration lock)", async () => {
    const a = runtime("a", []);
    await a.rt.start();
    try {
      expect(a.rt.isLeader()).toBe(true);
      let timer: NodeJS.Timeout | undefined;
      const second = await Promise.race([
        openDatabase({ url }),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error("the second process waited for the leader's lock to migrate")), 5000); }),
      ]).finally(() => clearTimeout(timer));
      await second.close();
    } finally {
      await a.rt.stop();
    }
  });

  it("a wake in a process that does not lead reaches the leader's loop (NOTIFY), not its own", async () => {
    const log: string[] = [];
    const a = runtime("a", log);
    const b = runtime("b", log, { notify: true });
    await a.rt.start();
    await b.rt.start();
    try {
      await until("a's first pass", () => a.loop.passes === 1);
      b.rt.wake("jobs");
      await until("the pass b asked for, in a", () => a.loop.passes === 2, 5000);
      expect(b.loop.passes).toBe(0);
    } finally {
      await a.rt.stop();
      await b.rt.stop();
    }
  });
});
