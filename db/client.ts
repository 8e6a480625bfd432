// The database: embedded PGlite under CAIRN_DATA_DIR when DATABASE_URL is unset, PostgreSQL otherwise.
// Migrations in db/migrations are applied on first use; the demo seed runs on an empty database.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import * as schema from "./schema";
import { TracedPGlite, TracedPgClient } from "./tracing";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** A database handle or an open transaction: services accept either. */
export type DbOrTx = Db | Tx;

export type DbBackend = "pglite" | "postgres";
/** `url`: the PostgreSQL connection string (for connections of their own, such as the workers' leader lock). */
export type Database = { db: Db; backend: DbBackend; close: () => Promise<void>; url?: string };

export const MIGRATIONS_FOLDER = path.join(process.cwd(), "db", "migrations");
const MIGRATION_LOCK = 0x6361_6972; // "cair": serializes migrations across instances

export function dataDir(): string {
  return path.resolve(/*turbopackIgnore: true*/ process.env.CAIRN_DATA_DIR || ".data");
}

// JIT compilation costs more than it saves on these short OLTP queries (hundreds of ms on searches).
const PG_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0";

/**
 * A PostgreSQL pool and its drizzle handle. TracedPgClient: a span per statement under traced work (db/tracing.ts);
 * a plain pg.Client otherwise.
 */
function pgPool(url: string, options: string): { pool: pg.Pool; db: Db } {
  const pool = new pg.Pool({ connectionString: url, max: 10, options, Client: TracedPgClient });
  pool.on("error", (err) => console.error("[db] idle client error", err));
  return { pool, db: drizzlePg(pool, { schema }) as unknown as Db };
}

// Per PostgreSQL database handle: how to get its handle whose statements stop after a timeout (see timedReads).
// One registry per process: Next bundles this module once per route.
const TIMED = Symbol.for("cairn.db.timedReads");
const globalForTimed = globalThis as unknown as { [TIMED]?: WeakMap<Db, (timeoutMs: number) => Db> };
const timedRegistry = () => (globalForTimed[TIMED] ??= new WeakMap());

/** The PostgreSQL pool behind `db`; undefined for PGlite and for an open transaction. */
export function poolOf(db: DbOrTx): pg.Pool | undefined {
  const client = (db as unknown as { $client?: unknown }).$client;
  return client instanceof pg.Pool ? client : undefined;
}

/**
 * A handle on the same PostgreSQL database whose connections stop every statement after `timeoutMs`
 * (statement_timeout set when each connection opens), for reads that must be bounded: they need no transaction
 * and no SET per request, three round trips fewer. Null for PGlite and for an open transaction, which set
 * the timeout themselves (SET LOCAL).
 */
export function timedReads(db: DbOrTx, timeoutMs: number): Db | null {
  return timedRegistry().get(db as Db)?.(timeoutMs) ?? null;
}

const closedRegistry = (): WeakSet<object> =>
  ((globalThis as Record<symbol, unknown>)[Symbol.for("cairn.closedDatabases")] ??= new WeakSet()) as WeakSet<object>;

/** The database behind `db` was closed (background work started before the close then stops quietly). */
export function isClosed(db: Db): boolean {
  return closedRegistry().has(db);
}

/** Opens a database: `url` → PostgreSQL, `pgliteDir` → PGlite on disk, neither → in-memory PGlite. */
export async function openDatabase(opts: { url?: string; pgliteDir?: string }): Promise<Database> {
  if (opts.url) {
    const url = opts.url;
    const { pool, db } = pgPool(url, PG_OPTIONS);
    // Opened on first use, one pool per timeout, and closed with the database.
    const timed = new Map<number, { pool: pg.Pool; db: Db }>();
    timedRegistry().set(db, (timeoutMs) => {
      const ms = Math.max(1, Math.round(timeoutMs));
      let t = timed.get(ms);
      if (!t) {
        t = pgPool(url, `${PG_OPTIONS} -c statement_timeout=${ms}`);
        timed.set(ms, t);
      }
      return t.db;
    });
    const client = await pool.connect();
    try {
      await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
      await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
      client.release();
    }
    const close = async () => {
      // A read that comes after the close gets no new pool (it fails on the closed one, as any other query would).
      timedRegistry().delete(db);
      closedRegistry().add(db);
      await Promise.all([pool, ...[...timed.values()].map((t) => t.pool)].map((p) => p.end()));
    };
    return { db, backend: "postgres", close, url };
  }
  if (opts.pgliteDir) mkdirSync(opts.pgliteDir, { recursive: true });
  const client = opts.pgliteDir ? new TracedPGlite(opts.pgliteDir) : new TracedPGlite();
  await client.waitReady;
  const pgliteDb = drizzlePglite(client, { schema });
  await migratePglite(pgliteDb, { migrationsFolder: MIGRATIONS_FOLDER });
  const close = async () => {
    closedRegistry().add(pgliteDb);
    await client.close();
  };
  return { db: pgliteDb as unknown as Db, backend: "pglite", close };
}

type Shared = { promise: Promise<Database> };
const globalForDb = globalThis as unknown as { __cairnDb?: Shared };

/** The process-wide database of the running platform (configured by DATABASE_URL / CAIRN_DATA_DIR). */
export function getDatabase(): Promise<Database> {
  if (!globalForDb.__cairnDb) {
    const url = process.env.DATABASE_URL || undefined;
    const promise = openDatabase(url ? { url } : { pgliteDir: path.join(dataDir(), "pglite") });
    promise.catch(() => { globalForDb.__cairnDb = undefined; });
    globalForDb.__cairnDb = { promise };
  }
  return globalForDb.__cairnDb.promise;
}

export async function getDb(): Promise<Db> {
  return (await getDatabase()).db;
}

/** Migrations shipped with this build vs. those recorded as applied. */
export async function migrationStatus(db: Db): Promise<{ expected: number; applied: number }> {
  const journalPath = path.join(MIGRATIONS_FOLDER, "meta", "_journal.json");
  const expected = existsSync(journalPath)
    ? (JSON.parse(readFileSync(journalPath, "utf8")) as { entries: unknown[] }).entries.length
    : 0;
  // Both drivers answer raw queries with `{ rows }`.
  const result = (await db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`)) as unknown as { rows: { n: number }[] };
  const applied = Number(result.rows[0]?.n ?? 0);
  return { expected, applied };
}
