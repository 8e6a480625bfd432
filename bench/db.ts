// The bench's own PostgreSQL database: created with a unique name, migrated and seeded with the demo
// organization, installed as the process-wide database (like server/testing/fixtures.ts), dropped after.
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Database, Db } from "@/db/client";
import { openDatabase } from "@/db/client";
import { seedDemo } from "@/db/seed/demo";

export type BenchDatabase = {
  name: string;
  url: string;
  database: Database;
  db: Db;
  /** A raw connection for bulk loading, EXPLAIN and COPY (session settings stay on it). */
  raw: pg.Client;
  close: (keep: boolean) => Promise<void>;
};

const globals = globalThis as unknown as {
  __cairnReady?: Promise<Db>;
  __cairnDb?: { promise: Promise<Database> };
};

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `cairn_bench_${Date.now()}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let database: Database | undefined;
  let raw: pg.Client | undefined;
  const drop = async () => {
    const dropper = new pg.Client({ connectionString: adminUrl });
    await dropper.connect();
    try {
      await dropper.query(`drop database if exists ${name} with (force)`);
    } finally {
      await dropper.end();
    }
  };
  try {
    database = await openDatabase({ url: url.toString() });
    await seedDemo(database.db);
    raw = new pg.Client({ connectionString: url.toString() });
    await raw.connect();
  } catch (err) {
    await raw?.end().catch(() => undefined);
    await database?.close().catch(() => undefined);
    await drop().catch(() => undefined);
    throw err;
  }
  // Route handlers (handleMlflow → getReadyDb) use this database.
  globals.__cairnReady = Promise.resolve(database.db);
  globals.__cairnDb = { promise: Promise.resolve(database) };
  const opened = database;
  const client = raw;
  return {
    name,
    url: url.toString(),
    database: opened,
    db: opened.db,
    raw: client,
    close: async (keep: boolean) => {
      globals.__cairnReady = undefined;
      globals.__cairnDb = undefined;
      await client.end().catch(() => undefined);
      await opened.close().catch(() => undefined);
      if (!keep) await drop();
    },
  };
}

export { ctxFor, tokenFor } from "@/server/testing/actors";
