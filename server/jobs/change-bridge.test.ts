// Job status changes between processes: the bus delivers what this process publishes, and on PostgreSQL the
// bridge carries each change to every other process exactly once (NOTIFY), through a broken listening
// connection, and into the event stream with its team filter. Two "processes" in one test are two buses, each
// with its own bridge and process id, on one database.
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { getDatabase } from "@/db/client";
import { teams } from "@/db/schema";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { JOB_CHANGE_CHANNEL, JobChangeBridge } from "./change-bridge";
import type { JobChange } from "./events";
import { JobChangeBus, jobChangeBus } from "./events";
import { jobChangeStream } from "./stream";

const db = demoDatabase();
const onPostgres = process.env.CAIRN_TEST_DB === "postgres";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, ms = 10_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
  return Date.now() - started;
}

function change(status: JobChange["status"], over: Partial<JobChange> = {}): JobChange {
  return { job_id: randomUUID(), team_id: randomUUID(), status, attempt: 1, at: Date.now(), ...over };
}

/** Everything a bus delivers to its subscribers, in order. */
function recorder(bus: JobChangeBus): JobChange[] {
  const seen: JobChange[] = [];
  bus.subscribe((c) => seen.push(c));
  return seen;
}

describe("the bus (one process)", () => {
  it("delivers a published change to every subscriber once and forwards it; a delivered one is not forwarded again", () => {
    const bus = new JobChangeBus();
    const a = recorder(bus);
    const b = recorder(bus);
    const forwarded: JobChange[] = [];
    const detach = bus.forward((c) => forwarded.push(c));
    const mine = change("running");
    bus.publish(mine);
    const theirs = change("succeeded");
    bus.deliver(theirs);
    expect(a).toEqual([mine, theirs]);
    expect(b).toEqual([mine, theirs]);
    expect(forwarded).toEqual([mine]);
    detach();
    bus.publish(change("failed"));
    expect(forwarded).toHaveLength(1);
    expect(a).toHaveLength(3);
  });
});

describe.runIf(onPostgres)("several processes on one PostgreSQL", () => {
  const bridges: JobChangeBridge[] = [];
  afterEach(async () => {
    await Promise.all(bridges.splice(0).map((b) => b.stop()));
  });

  async function proc(name: string, bus = new JobChangeBus(), opts: { retryMs?: number } = {}) {
    const { url } = await getDatabase();
    const bridge = new JobChangeBridge({ db: db(), url: url!, bus, processId: `test-${name}-${randomUUID()}`, log: () => undefined, ...opts });
    bridges.push(bridge);
    await bridge.start();
    expect(bridge.listening()).toBe(true);
    return { bus, bridge, seen: recorder(bus) };
  }

  it("each process hears the other's changes exactly once, in order, and its own only from itself", async () => {
    const a = await proc("a");
    const b = await proc("b");
    const fromA = Array.from({ length: 20 }, (_, i) => change(i % 2 ? "running" : "admitted", { attempt: i }));
    for (const c of fromA) a.bus.publish(c);
    const fromB = change("cancelled", { message: "cancelled by ds@example.com" });
    b.bus.publish(fromB);
    await until("b to hear a's changes", () => b.seen.length === 21);
    await until("a to hear b's change", () => a.seen.length === 21);
    await a.bridge.flushed();
    await b.bridge.flushed();
    await sleep(300); // time for an echo or a duplicate to arrive, if any were sent
    // Its own change at once, then the other's as they arrive; never one twice, never its own echoed back.
    expect(a.seen).toEqual([...fromA, fromB]);
    expect(b.seen).toEqual([fromB, ...fromA]);
  });

  it("a message too long for a NOTIFY payload is cut, and the change still arrives", async () => {
    const a = await proc("a");
    const b = await proc("b");
    a.bus.publish(change("failed", { message: "é".repeat(20_000) }));
    await until("b to hear it", () => b.seen.length === 1);
    expect(b.seen[0]!.status).toBe("failed");
    expect(b.seen[0]!.message!.length).toBeLessThanOrEqual(1000);
  });

  it("a listening connection the database ends is reopened, and changes keep arriving", async () => {
    const a = await proc("a", undefined, { retryMs: 100 });
    const b = await proc("b", undefined, { retryMs: 100 });
    const admin = new pg.Client({ connectionString: (await getDatabase()).url });
    await admin.connect();
    try {
      const listeners = await admin.query<{ pid: number }>(
        "select pid from pg_stat_activity where datname = current_database() and application_name = 'cairn-job-changes' and pid <> pg_backend_pid()",
      );
      expect(listeners.rows).toHaveLength(2);
      for (const { pid } of listeners.rows) await admin.query("select pg_terminate_backend($1)", [pid]);
      await until("both to notice", () => !a.bridge.listening() && !b.bridge.listening(), 5000);
      await until("both to listen again", () => a.bridge.listening() && b.bridge.listening(), 5000);
      const again = await admin.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'cairn-job-changes'",
      );
      expect(again.rows[0]!.n).toBe(2);
    } finally {
      await admin.end();
    }
    const fromA = change("running");
    const fromB = change("succeeded");
    a.bus.publish(fromA);
    b.bus.publish(fromB);
    await until("each to hear the other", () => a.seen.length === 2 && b.seen.length === 2);
    await sleep(200);
    expect(a.seen).toEqual([fromA, fromB]);
    expect(b.seen).toEqual([fromB, fromA]);
  });

  it("ignores a payload on the channel that is not a change", async () => {
    const b = await proc("b");
    await db().execute(sql`select pg_notify(${JOB_CHANGE_CHANNEL}, 'not json'), pg_notify(${JOB_CHANGE_CHANNEL}, ${JSON.stringify({ from: "x", change: { job_id: 1 } })})`);
    const a = await proc("a");
    const ok = change("queued");
    a.bus.publish(ok);
    await until("b to hear the real change", () => b.seen.length >= 1);
    expect(b.seen).toEqual([ok]);
  });

  it("the event stream of a process that does not lead shows the leader's changes of the caller's teams only, once each", async () => {
    // This test's process is the follower (its bus is the one the stream reads); the "leader" is a bus of its own.
    const follower = await proc("follower", jobChangeBus());
    const leader = await proc("leader");
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const [fraud] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "fraud"));
    const abort = new AbortController();
    const res = await jobChangeStream(await ctxFor(db(), DEMO.ds), new Request("http://localhost/api/v1/jobs/events", { signal: abort.signal }), {});
    const reader = res.body!.getReader();
    const job = randomUUID();
    leader.bus.publish(change("admitted", { job_id: randomUUID(), team_id: fraud!.id }));
    leader.bus.publish(change("running", { job_id: job, team_id: churn!.id }));
    leader.bus.publish(change("running", { job_id: randomUUID(), team_id: fraud!.id }));
    leader.bus.publish(change("succeeded", { job_id: job, team_id: churn!.id }));
    await until("the follower's bus to hear all four", () => follower.seen.length === 4);
    await sleep(200);
    abort.abort();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const events = [...text.matchAll(/event: job\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!) as { job_id: string; status: string; team_id?: string });
    expect(events.map((e) => [e.job_id, e.status])).toEqual([[job, "running"], [job, "succeeded"]]);
    expect(events.every((e) => e.team_id === undefined)).toBe(true);
  });
});
