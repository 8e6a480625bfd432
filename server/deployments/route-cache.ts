// Where the gateway's addresses lead, kept in memory so a request to a model's stable address makes no database
// round trip: the model an address names, the deployment its environment reaches (with the active traffic
// split), a pinned deployment's row. What routing reads changes rarely, and every change is announced by the
// database itself at commit (migration 0034: statement triggers on deployments, deployment_splits,
// registered_models and teams NOTIFY `cairn_routes`), whichever process, statement or tool made it: a listening
// process drops everything it kept.
//
// The cache answers only while this process is listening (embedded PGlite: its own notifications; PostgreSQL: a
// connection of its own, reopened with backoff). Until then, and while that connection is down, every lookup
// reads the database, as before. A lookup that began before a change is not kept (a generation counter), so an
// answer read from the old rows cannot outlive the notification that replaced them. Entries also expire after
// ENTRY_TTL_MS, a backstop that costs one lookup per address per interval. Concurrent misses of one key share a
// single read.
import type { PGlite } from "@electric-sql/pglite";
import type { Db } from "@/db/client";
import { PgChannelListener } from "../pg-listener";

export const ROUTES_CHANNEL = "cairn_routes";
/** A backstop: an entry is read again after this long even if no change was announced. */
const ENTRY_TTL_MS = 30_000;
/** Entries kept at most (a flood of made-up addresses clears the map rather than growing it). */
const MAX_ENTRIES = 10_000;

type Entry = { value: unknown; at: number };

export class RouteCache {
  private generation = 0;
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private listening = false;
  /** Lookups answered from memory and read from the database (tests and the bench read them). */
  readonly stats = { hits: 0, misses: 0, invalidations: 0 };

  /** Whether lookups are kept: only while changes reach this process. */
  get active(): boolean {
    return this.listening;
  }

  setListening(on: boolean): void {
    // Whatever was kept while notifications could have been missed is dropped either way.
    this.invalidate();
    this.listening = on;
  }

  /** Drops everything kept; lookups in flight are not kept when they finish. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
    this.inflight.clear();
    this.stats.invalidations++;
  }

  /** The value kept for `key`, or `load()`'s (kept when no change was announced meanwhile and `keep` allows it). */
  async get<T>(key: string, load: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
    if (!this.listening) return load();
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < ENTRY_TTL_MS) {
      this.stats.hits++;
      return hit.value as T;
    }
    const pending = this.inflight.get(key);
    if (pending) {
      this.stats.hits++;
      return pending as Promise<T>;
    }
    this.stats.misses++;
    const generation = this.generation;
    const reading = load();
    this.inflight.set(key, reading);
    try {
      const value = await reading;
      if (generation === this.generation && keep(value)) {
        if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
        this.entries.set(key, { value, at: now });
      }
      return value;
    } finally {
      if (this.inflight.get(key) === reading) this.inflight.delete(key);
    }
  }
}

type Listener = { cache: RouteCache; stop: () => Promise<void> };

// One cache per database, shared by every bundle of the process (the /serve route and start-up are built apart).
const REGISTRY = Symbol.for("cairn.gateway.routeCaches");
function registry(): WeakMap<Db, Listener> {
  const g = globalThis as unknown as Record<symbol, WeakMap<Db, Listener> | undefined>;
  return (g[REGISTRY] ??= new WeakMap());
}

const idle = new RouteCache();

/** The route cache of `db`: an inactive one (every lookup reads the database) unless startRouteCache ran for it. */
export function routeCache(db: Db): RouteCache {
  return registry().get(db)?.cache ?? idle;
}

export type RouteCacheOptions = {
  backend: "pglite" | "postgres";
  /** PostgreSQL's connection string (the listening connection); unused on PGlite. */
  url?: string;
  /** First wait before reopening a broken listening connection; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** How often the PostgreSQL listener checks that notifications still reach it (default 5 s). */
  heartbeatMs?: number;
};

/**
 * Starts keeping routes for `db`: listens for `cairn_routes` and resolves once the first attempt to listen is
 * decided (the cache is active from then on if it succeeded). Idempotent per database.
 */
export async function startRouteCache(db: Db, opts: RouteCacheOptions): Promise<RouteCache> {
  const existing = registry().get(db);
  if (existing) return existing.cache;
  const cache = new RouteCache();
  if (opts.backend === "pglite") {
    // One process, one connection: PGlite calls the listener before the committing statement's promise settles.
    const client = (db as unknown as { $client?: PGlite }).$client;
    if (!client || typeof client.listen !== "function") throw new Error("startRouteCache: this PGlite database has no client to listen on");
    const unlisten = await client.listen(ROUTES_CHANNEL, () => cache.invalidate());
    cache.setListening(true);
    registry().set(db, { cache, stop: async () => { cache.setListening(false); await unlisten(); } });
    return cache;
  }
  if (!opts.url) throw new Error("startRouteCache: PostgreSQL needs its connection string to listen");
  // While the connection is down (or deaf: its heartbeats stop coming back) the cache is off.
  const listener = new PgChannelListener({
    url: opts.url, channel: ROUTES_CHANNEL, applicationName: LISTENER_NAME, purpose: "gateway routes",
    whileDown: "lookups read the database until it is back",
    onPayload: () => cache.invalidate(), onListening: (on) => cache.setListening(on),
    retryMs: opts.retryMs ?? 500, maxRetryMs: opts.maxRetryMs ?? 30_000, heartbeatMs: opts.heartbeatMs ?? 5_000,
  });
  registry().set(db, { cache, stop: async () => { await listener.stop(); cache.setListening(false); } });
  await listener.start();
  return cache;
}

/** Stops keeping routes for `db` (tests; a process that closes its database). */
export async function stopRouteCache(db: Db): Promise<void> {
  const entry = registry().get(db);
  if (!entry) return;
  registry().delete(db);
  await entry.stop();
}

/** The listening connection's application_name (pg_stat_activity shows it). */
export const LISTENER_NAME = "cairn route listener";
