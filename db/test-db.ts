// Test databases: in-memory PGlite, or a uniquely named PostgreSQL database dropped afterwards.
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Database } from "./client";
import { openDatabase } from "./client";

export type TestDatabase = Database & { name: string };

export async function createTestDatabase(): Promise<TestDatabase> {
  if (process.env.CAIRN_TEST_DB !== "postgres") {
    return { ...(await openDatabase({})), name: "pglite:memory" };
  }
  const adminUrl = process.env.CAIRN_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `cairn_test_${Date.now()}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString() });
  return {
    ...database,
    name,
    close: async () => {
      await database.close();
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}
