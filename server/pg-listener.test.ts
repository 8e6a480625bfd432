// The one LISTEN connection behind the gateway's route cache and the job change bridge: payloads reach the caller
// and heartbeats never do; a connection that stops hearing its own heartbeat (deaf, though not closed) counts as
// not listening and is replaced; a stopped listener leaves no connection behind. PostgreSQL only (PGlite
// listens in process).
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { getDatabase } from "@/db/client";
import { demoDatabase } from "./testing/fixtures";
import { PgChannelListener } from "./pg-listener";

demoDatabase();
const onPostgres = process.env.CAIRN_TEST_DB === "postgres";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started: PgChannelListener[] = [];

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((l) => l.stop()));
});

describe.runIf(onPostgres)("a PostgreSQL channel listener", () => {
  async function listener(channel: string, extra: { heartbeatMs?: number } = {}) {
    const url = (await getDatabase()).url!;
    const payloads: string[] = [];
    const states: boolean[] = [];
    const logged: string[] = [];
    const l = new PgChannelListener({
      url, channel, applicationName: `test listener ${channel}`, purpose: "test", whileDown: "nothing is heard",
      onPayload: (p) => payloads.push(p), onListening: (on) => states.push(on), retryMs: 50, maxRetryMs: 100,
      heartbeatMs: extra.heartbeatMs ?? 60_000, log: (m) => logged.push(m),
    });
    started.push(l);
    await l.start();
    return { l, payloads, states, logged, url };
  }

  it("hands the caller every payload, empty ones too, and never its heartbeats", async () => {
    const channel = `t_${randomUUID().replace(/-/g, "")}`;
    const { l, payloads, states, url } = await listener(channel, { heartbeatMs: 30 });
    expect(l.listening()).toBe(true);
    expect(states).toEqual([true]);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query("select pg_notify($1, 'one'), pg_notify($1, '')", [channel]);
      await c.query("select pg_notify($1, 'heartbeat')", [channel]);
      await c.query("select pg_notify('some_other_channel', 'x')");
      await until("two payloads", () => payloads.length === 2);
      await sleep(150); // several of its own heartbeats go by
      expect(payloads).toEqual(["one", ""]);
    } finally {
      await c.end();
    }
  });

  it("takes a connection that stops hearing its own heartbeats for a broken one, and listens again on a new one", async () => {
    const channel = `t_${randomUUID().replace(/-/g, "")}`;
    const { l, payloads, states, logged, url } = await listener(channel, { heartbeatMs: 50 });
    // Deaf, not closed: the connection stays up but no longer listens (as behind a pooler that drops LISTEN).
    const first = (l as unknown as { client: pg.Client }).client;
    await first.query(`UNLISTEN *`);
    await until("it to notice", () => states.includes(false));
    await until("it to listen again", () => states.at(-1) === true && l.listening());
    expect((l as unknown as { client: pg.Client }).client).not.toBe(first);
    expect(logged.some((m) => /test: not listening \(its own heartbeat did not come back/.test(m))).toBe(true);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query("select pg_notify($1, 'after')", [channel]);
      await until("the payload on the new connection", () => payloads.includes("after"));
    } finally {
      await c.end();
    }
  });

  it("leaves no connection behind once stopped", async () => {
    const channel = `t_${randomUUID().replace(/-/g, "")}`;
    const { l, url } = await listener(channel);
    await l.stop();
    expect(l.listening()).toBe(false);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await sleep(100);
      const left = await c.query("select count(*)::int as n from pg_stat_activity where application_name = $1", [`test listener ${channel}`]);
      expect(left.rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
  });
});
