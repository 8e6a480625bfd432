// A bounded read (query-budget.ts withStatementTimeout): on PostgreSQL it runs on connections opened with the
// statement timeout (db/client.ts timedReads) — no transaction and no SET per request — and a statement past the
// limit answers 422; in a transaction, or on PGlite, it sets the timeout itself. Either way the database's own
// pool is left without a timeout, and a foreign team's search never reaches it.
import { randomBytes } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import type { DbOrTx } from "@/db/client";
import { openDatabase, timedReads } from "@/db/client";
import { auditEvents } from "@/db/schema";
import { flushDenials } from "../audit/denials";
import { createExperiment } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { withStatementTimeout } from "./query-budget";
import { searchRuns } from "./search";

vi.stubEnv("CAIRN_QUERY_TIMEOUT_MS", "1000");

const db = demoDatabase();
const onPostgres = process.env.CAIRN_TEST_DB === "postgres";

async function text(d: DbOrTx, q: ReturnType<typeof sql>): Promise<string> {
  return ((await d.execute(q)) as unknown as { rows: { v: string }[] }).rows[0]!.v;
}

/** The timeout a read's statements run under, and whether its two statements shared one transaction. */
async function readSettings(d: DbOrTx): Promise<{ timeout: string; oneTransaction: boolean }> {
  const timeout = await text(d, sql`select current_setting('statement_timeout') as v`);
  const first = await text(d, sql`select now()::text as v`);
  await text(d, sql`select pg_sleep(0.01)::text as v`);
  const second = await text(d, sql`select now()::text as v`);
  return { timeout, oneTransaction: first === second };
}

describe("a bounded read", () => {
  it("runs its statements under the timeout, outside a transaction on PostgreSQL, and leaves the pool without it", async () => {
    const seen = await withStatementTimeout(db(), "search", readSettings);
    expect(seen.timeout).toBe("1s");
    // On PostgreSQL the connections carry the timeout, so no transaction is opened to SET it.
    expect(seen.oneTransaction).toBe(!onPostgres);
    expect(await text(db(), sql`select current_setting('statement_timeout') as v`)).toBe("0");
  });

  it("inside a transaction, sets the timeout for that transaction only", async () => {
    const seen = await db().transaction((tx) => withStatementTimeout(tx, "search", readSettings));
    expect(seen).toEqual({ timeout: "1s", oneTransaction: true });
    expect(await text(db(), sql`select current_setting('statement_timeout') as v`)).toBe("0");
  });

  it.skipIf(!onPostgres)("stops a statement past the limit with a 422 that says what to narrow, and the next read works", async () => {
    const slow = withStatementTimeout(db(), "search", (d) => d.execute(sql`select pg_sleep(3)`));
    await expect(slow).rejects.toMatchObject({ code: "invalid_input", status: 422, message: expect.stringContaining("stopped after 1 s") });
    expect(await withStatementTimeout(db(), "search", (d) => text(d, sql`select 'ok' as v`))).toBe("ok");
  });

  it("has no timed handle on PGlite or in a transaction", async () => {
    await db().transaction(async (tx) => {
      expect(timedReads(tx, 1000)).toBeNull();
    });
    expect(timedReads(db(), 1000) === null).toBe(!onPostgres);
  });

  it.skipIf(!onPostgres)("closes its timed connections with the database", async () => {
    const adminUrl = process.env.CAIRN_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const name = `cairn_test_timed_${Date.now()}_${randomBytes(3).toString("hex")}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    try {
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const database = await openDatabase({ url: url.toString() });
      const connections = async () => Number((await admin.query("select count(*)::int as n from pg_stat_activity where datname = $1", [name])).rows[0].n);
      await timedReads(database.db, 1000)!.execute(sql`select 1`);
      expect(await connections()).toBeGreaterThanOrEqual(1);
      await database.close();
      // A read after the close opens no new connections.
      expect(timedReads(database.db, 1000)).toBeNull();
      // A backend leaves pg_stat_activity a moment after its client hangs up.
      let left = await connections();
      for (let i = 0; left > 0 && i < 40; i++) {
        await new Promise((r) => setTimeout(r, 50));
        left = await connections();
      }
      expect(left).toBe(0);
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });

  it("refuses a foreign team's search before it reads anything (404)", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `timed-foreign-${Date.now()}`);
    const foreign = await ctxFor(db(), DEMO.dsFraud);
    await expect(searchRuns(foreign, { experiment_ids: [exp], filter: "params.p1 = 'a' and metrics.m > 0", order_by: ["metrics.m DESC"], max_results: 10, run_view_type: "ACTIVE_ONLY" })).rejects.toMatchObject({ code: "not_found" });
    // The refusal is audited (shortly after, see audit/denials.ts).
    await flushDenials(db());
    const denied = await db().select({ outcome: auditEvents.outcome }).from(auditEvents).where(and(eq(auditEvents.outcome, "denied"), eq(auditEvents.target, `experiment:${exp}`)));
    expect(denied.length).toBeGreaterThanOrEqual(1);
  });
});
