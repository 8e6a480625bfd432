// The query budget of searches and history reads: a team's query slots (429 with Retry-After when they stay
// full, never another team's), and the statement timeout (a clear error, the connection left as it was).
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { GET as browseRoute } from "./route";
import { teams } from "@/db/schema";
import { eq } from "drizzle-orm";
import type { ErrorBody } from "@/server/mlflow/test-client";
import { createExperiment, createRun, get, post } from "@/server/mlflow/test-client";
import { call, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import type { BudgetTeam } from "@/server/tracking/query-budget";
import { slotsInUse, withStatementTimeout, withTeamSlot } from "@/server/tracking/query-budget";

// Read once by env() on first use, before any test runs.
vi.stubEnv("CAIRN_QUERY_SLOTS_PER_TEAM", "2");
vi.stubEnv("CAIRN_QUERY_SLOT_WAIT_MS", "300");
vi.stubEnv("CAIRN_QUERY_TIMEOUT_MS", "1000");

const onPostgres = process.env.CAIRN_TEST_DB === "postgres";
const db = demoDatabase();
let churnToken = "";
let fraudToken = "";
let churnExp = "";
let fraudExp = "";
let churnRun = "";
let churn: BudgetTeam = { id: "", slug: "churn" };

beforeAll(async () => {
  churnToken = await tokenFor(db(), DEMO.ds, "churn");
  fraudToken = await tokenFor(db(), DEMO.dsFraud, "fraud");
  churnExp = await createExperiment(churnToken, `budget-${Date.now()}`);
  fraudExp = await createExperiment(fraudToken, `budget-${Date.now()}`);
  churnRun = (await createRun(churnToken, churnExp)).run_id;
  await post(churnToken, "runs/log-batch", { run_id: churnRun, params: [{ key: "lr", value: "0.1" }], metrics: [{ key: "loss", value: 0.5, timestamp: 1, step: 0 }] });
  await createRun(fraudToken, fraudExp);
  const [row] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  churn = { id: row!.id, slug: "churn" };
});

const filtered = (token: string, experimentId: string) =>
  post<ErrorBody & { runs?: unknown[] }>(token, "runs/search", { experiment_ids: [experimentId], filter: "params.lr = '0.1'", order_by: ["metrics.loss DESC"] });
const browse = (token: string, experimentId: string) =>
  call(browseRoute, { path: `/api/v1/experiments/${experimentId}/runs?filter=${encodeURIComponent("params.lr = '0.1'")}`, token, params: { id: experimentId } });
const history = () => get<ErrorBody>(churnToken, "metrics/get-history", { run_id: churnRun, metric_key: "loss" });

/** Holds `n` of churn's slots until the returned release is called. */
function holdSlots(n: number): { release: () => Promise<void> } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  const held = Array.from({ length: n }, () => withTeamSlot(churn, "search", () => gate));
  return { release: async () => { open(); await Promise.all(held); } };
}

describe("a team's query slots", () => {
  it("answers 429 with Retry-After once the team's slots stay full, and never holds up another team", async () => {
    const hold = holdSlots(2);
    try {
      expect(slotsInUse(churn.id)).toBe(2);
      const started = performance.now();
      const mlflow = await filtered(churnToken, churnExp);
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      expect(mlflow.status).toBe(429);
      expect(mlflow.json.error_code).toBe("REQUEST_LIMIT_EXCEEDED");
      expect(mlflow.json.message).toMatch(/^Team churn already runs 2 searches or metric history reads at once, the limit per team; this search waited 0.3 s/);
      expect(mlflow.headers.get("retry-after")).toBe("1");
      const v1 = await browse(churnToken, churnExp);
      expect(v1.status).toBe(429);
      expect(v1.json).toMatchObject({ error: { code: "rate_limited", message: expect.stringMatching(/Team churn already runs 2 searches/) } });
      expect(v1.response.headers.get("retry-after")).toBe("1");
      const read = await history();
      expect(read.status).toBe(429);
      expect(read.json.message).toMatch(/this metric history read waited/);

      // Another team, and a plain search (no filter, no order) of the same team, go ahead.
      expect((await filtered(fraudToken, fraudExp)).status).toBe(200);
      expect((await browse(fraudToken, fraudExp)).status).toBe(200);
      expect((await post(churnToken, "runs/search", { experiment_ids: [churnExp] })).status).toBe(200);
    } finally {
      await hold.release();
    }
    expect(slotsInUse(churn.id)).toBe(0);
    const after = await filtered(churnToken, churnExp);
    expect(after.status).toBe(200);
    expect(after.json.runs).toHaveLength(1);
    expect((await history()).status).toBe(200);
  });

  it("hands a freed slot to a waiting request, and frees slots when a search fails", async () => {
    // Fraud read in the test before: past a second it no longer counts as reading, so churn's waiting search is
    // handed the slot at once rather than after a flood rest (server/tracking/query-budget.test.ts tests those).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const hold = holdSlots(2);
    const waiting = filtered(churnToken, churnExp);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await hold.release();
    expect((await waiting).status).toBe(200);
    const bad = await post<ErrorBody>(churnToken, "runs/search", { experiment_ids: [churnExp], filter: "params.lr = '0.1'", order_by: ["datasets.name"] });
    expect(bad.status).toBe(400);
    await expect(withTeamSlot(churn, "search", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(slotsInUse(churn.id)).toBe(0);
  });
});

describe("the statement timeout", () => {
  it.runIf(onPostgres)("stops a search that runs past it with a clear error, and leaves the connection as it was", async () => {
    // Another transaction holds the runs table, so the search's statement waits past the 1 s timeout.
    let locked!: () => void;
    let unlock!: () => void;
    const isLocked = new Promise<void>((resolve) => { locked = resolve; });
    const done = new Promise<void>((resolve) => { unlock = resolve; });
    const holder = db().transaction(async (tx) => {
      await tx.execute(sql`lock table runs in access exclusive mode`);
      locked();
      await done;
    });
    await isLocked;
    try {
      const started = performance.now();
      const mlflow = await filtered(churnToken, churnExp);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(mlflow.status).toBe(400);
      expect(mlflow.json).toEqual({
        error_code: "INVALID_PARAMETER_VALUE",
        message: expect.stringMatching(/^This search was stopped after 1 s, the limit for one request\. Narrow it: fewer conditions/),
      });
      const v1 = await browse(churnToken, churnExp);
      expect(v1.status).toBe(422);
      expect(v1.json).toMatchObject({ error: { code: "invalid_input", message: expect.stringMatching(/^This search was stopped after 1 s/) } });
    } finally {
      unlock();
      await holder;
    }
    expect((await filtered(churnToken, churnExp)).status).toBe(200);
    // The limit lives only on the searches' own connections (or a SET LOCAL that ended with the transaction): no connection of the shared pool keeps it.
    const settings = await Promise.all(Array.from({ length: 10 }, () => db().execute(sql`show statement_timeout`)));
    for (const s of settings) expect((s as unknown as { rows: { statement_timeout: string }[] }).rows[0]?.statement_timeout).toBe("0");
    expect(slotsInUse(churn.id)).toBe(0);
  });

  it.runIf(onPostgres)("stops a metric history read that runs past it", async () => {
    let locked!: () => void;
    let unlock!: () => void;
    const isLocked = new Promise<void>((resolve) => { locked = resolve; });
    const done = new Promise<void>((resolve) => { unlock = resolve; });
    const holder = db().transaction(async (tx) => {
      await tx.execute(sql`lock table metrics in access exclusive mode`);
      locked();
      await done;
    });
    await isLocked;
    try {
      const read = await history();
      expect(read.status).toBe(400);
      expect(read.json.message).toMatch(/^This metric history read was stopped after 1 s, the limit for one request\. Ask for fewer points/);
    } finally {
      unlock();
      await holder;
    }
    expect((await history()).status).toBe(200);
  });

  it.runIf(!onPostgres)("cannot interrupt a PGlite statement (in-process, no timer signal): the filter cap and the plans bound it there", async () => {
    const started = performance.now();
    await withStatementTimeout(db(), "search", (tx) => tx.execute(sql`select pg_sleep(1.3)`));
    expect(performance.now() - started).toBeGreaterThanOrEqual(1200);
  });
});
