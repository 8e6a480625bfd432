// The gateway's route cache: kept only while changes reach the process, dropped by the database's own
// announcement of every change routing reads (whichever connection made it), not by changes it does not read,
// never keeping a lookup that raced a change, and off while the listening connection is down.
import { sql } from "drizzle-orm";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { getDatabase } from "@/db/client";
import { demoDatabase } from "../testing/fixtures";
import { LISTENER_NAME, RouteCache, routeCache, startRouteCache, stopRouteCache } from "./route-cache";

const db = demoDatabase({ routeCache: true });

async function until(check: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

describe("RouteCache", () => {
  it("reads every time while not listening, and keeps what it read once it is", async () => {
    const cache = new RouteCache();
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get("k", load)).toBe(1);
    expect(await cache.get("k", load)).toBe(2);
    cache.setListening(true);
    expect(await cache.get("k", load)).toBe(3);
    expect(await cache.get("k", load)).toBe(3);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1 });
    cache.invalidate();
    expect(await cache.get("k", load)).toBe(4);
  });

  it("shares one read among concurrent misses of a key", async () => {
    const cache = new RouteCache();
    cache.setListening(true);
    let loads = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const load = async () => { loads++; await gate; return "v"; };
    const all = Promise.all([cache.get("k", load), cache.get("k", load), cache.get("k", load)]);
    release();
    expect(await all).toEqual(["v", "v", "v"]);
    expect(loads).toBe(1);
  });

  it("does not keep a read that a change overtook", async () => {
    const cache = new RouteCache();
    cache.setListening(true);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const stale = cache.get("k", async () => { await gate; return "old"; });
    cache.invalidate();
    release();
    expect(await stale).toBe("old");
    expect(await cache.get("k", async () => "new")).toBe("new");
  });

  it("does not listen after it is told to stop", async () => {
    const cache = new RouteCache();
    cache.setListening(true);
    await cache.get("k", async () => 1);
    cache.setListening(false);
    expect(cache.active).toBe(false);
    expect(await cache.get("k", async () => 2)).toBe(2);
  });
});

describe("changes announced by the database", () => {
  const invalidations = () => routeCache(db()).stats.invalidations;

  it("drops the routes when a deployment's state, a split, a model's name or a team's slug changes", async () => {
    expect(routeCache(db()).active).toBe(true);
    for (const statement of [
      sql`update deployments set status = status where false`,
      sql`update deployment_splits set weight = weight where false`,
      sql`update registered_models set name = name where false`,
      sql`update teams set slug = slug where false`,
      sql`delete from deployments where false`,
    ]) {
      const before = invalidations();
      await db().execute(statement);
      expect(await until(() => invalidations() > before), String(statement.queryChunks[0])).toBe(true);
    }
  });

  it("keeps them when only what routing does not read changes (replica counts, messages)", async () => {
    const before = invalidations();
    await db().execute(sql`update deployments set replicas = replicas, message = message where false`);
    await db().execute(sql`update registered_models set description = description where false`);
    // A marker change after them: once its announcement is in, any earlier one would be too.
    await db().execute(sql`update teams set slug = slug where false`);
    expect(await until(() => invalidations() > before)).toBe(true);
    expect(invalidations()).toBe(before + 1);
  });

  it("hears a change made on another connection (another Cairn process, psql)", async () => {
    const { backend, url } = await getDatabase();
    if (backend !== "postgres" || !url) return; // PGlite has one connection: the tests above are the case.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      const before = invalidations();
      await other.query("update deployments set ready_at = ready_at where false");
      expect(await until(() => invalidations() > before)).toBe(true);
    } finally {
      await other.end();
    }
  });

  it("stops keeping routes while the listening connection is down, and keeps them again once it is back", async () => {
    const { backend, url } = await getDatabase();
    if (backend !== "postgres" || !url) return;
    await stopRouteCache(db());
    const cache = await startRouteCache(db(), { backend, url, retryMs: 50, maxRetryMs: 100, heartbeatMs: 50 });
    expect(cache.active).toBe(true);
    // Its heartbeats come back: it stays on, and they are not taken for changes.
    const quiet = cache.stats.invalidations;
    await new Promise((r) => setTimeout(r, 400));
    expect(cache.active).toBe(true);
    expect(cache.stats.invalidations).toBe(quiet);
    const killer = new pg.Client({ connectionString: url });
    await killer.connect();
    try {
      await killer.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1", [LISTENER_NAME]);
      expect(await until(() => !cache.active)).toBe(true);
      let loads = 0;
      await cache.get("k", async () => ++loads);
      await cache.get("k", async () => ++loads);
      expect(loads).toBe(2);
      expect(await until(() => cache.active)).toBe(true);
      const before = cache.stats.invalidations;
      await killer.query("update teams set slug = slug where false");
      expect(await until(() => cache.stats.invalidations > before)).toBe(true);
    } finally {
      await killer.end();
    }
  });
});
