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
import pg from "pg";
import type { PGlite } from "@electric-sql/pglite";
import type { Db } from "@/db/client";
import { log } from "../observability/log";

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
  const listener = new PgRouteListener(opts.url, cache, opts.retryMs ?? 500, opts.maxRetryMs ?? 30_000, opts.heartbeatMs ?? HEARTBEAT_MS);
  registry().set(db, { cache, stop: () => listener.stop() });
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

/** A listener's proof of life: it NOTIFYs itself this often and expects to hear it back within the next beat. */
const HEARTBEAT_MS = 5_000;
const HEARTBEAT = "heartbeat";
/** The listening connection's application_name (pg_stat_activity shows it). */
export const LISTENER_NAME = "cairn route listener";

/**
 * LISTEN on a connection of its own; while it is down the cache is off (every lookup reads the database). Every
 * few seconds it sends itself a heartbeat on the channel: one that does not come back (a connection dropped
 * without a word, a pooler that does not pass notifications on) turns the cache off and reconnects.
 */
class PgRouteListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private beat: NodeJS.Timeout | null = null;
  private heard = true;
  private onHeartbeat: (() => void) | null = null;
  private failures = 0;

  constructor(private readonly url: string, private readonly cache: RouteCache, private readonly retryMs: number, private readonly maxRetryMs: number, private readonly heartbeatMs: number) {}

  async start(): Promise<void> {
    await this.connect();
    this.beat = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.beat.unref();
  }

  private async heartbeat(): Promise<void> {
    const client = this.client;
    if (!client || this.stopped) return;
    if (!this.heard) {
      log.warn("gateway routes: the listening connection stopped hearing its own heartbeat; lookups read the database until it reconnects");
      client.emit("error", new Error("no heartbeat came back on the listening connection"));
      return;
    }
    this.heard = false;
    try {
      await client.query("select pg_notify($1, $2)", [ROUTES_CHANNEL, HEARTBEAT]);
    } catch (err) {
      client.emit("error", err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.beat) clearInterval(this.beat);
    this.timer = null;
    this.beat = null;
    this.cache.setListening(false);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, connectionTimeoutMillis: 5_000, application_name: LISTENER_NAME });
    let lost = false;
    const onLost = (err?: unknown) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      this.cache.setListening(false);
      client.end().catch(() => undefined);
      if (this.stopped) return;
      if (err) log.warn("gateway routes: the listening connection was lost; lookups read the database until it is back", { err });
      this.retry();
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (n) => {
      if (n.channel !== ROUTES_CHANNEL) return;
      // A heartbeat (its own or another process's) says the channel works; anything else is a change.
      if (n.payload === HEARTBEAT) {
        this.heard = true;
        this.onHeartbeat?.();
      } else this.cache.invalidate();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${ROUTES_CHANNEL}`);
      // On only once a heartbeat came back: a connection that does not pass notifications on (a pooler in
      // transaction mode) never turns the cache on.
      const heard = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 2_000);
        this.onHeartbeat = () => { clearTimeout(timer); resolve(true); };
      });
      await client.query("select pg_notify($1, $2)", [ROUTES_CHANNEL, HEARTBEAT]);
      const ok = await heard;
      this.onHeartbeat = null;
      if (!ok) throw new Error("no notification came back on the listening connection (does a pooler sit in between?)");
      if (this.stopped || lost) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      this.failures = 0;
      this.heard = true;
      this.cache.setListening(true);
    } catch (err) {
      onLost(err);
    }
  }

  private retry(): void {
    if (this.timer || this.stopped) return;
    const delay = Math.min(this.maxRetryMs, this.retryMs * 2 ** this.failures++);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
    this.timer.unref();
  }
}
