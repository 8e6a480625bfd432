// A sorted walk that checks an equality's candidates first (run-page.ts) must give exactly the page the plain walk
// of the sort key's index gives: same runs, same order — NaN metrics after numbers, runs lacking the key last, ties
// broken by start time and id — on every page, and never a run outside the scope (another team's runs share the
// candidates' param values).
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/db/client";
import { experiments, latestMetrics, params, runTags, runs, teams } from "@/db/schema";
import { createTestDatabase } from "@/db/test-db";
import type { TestDatabase } from "@/db/test-db";
import { parseFilter } from "@/lib/search/filter";
import { equalityDrivers, parseSearch, selectRunPage } from "./run-page";

let database: TestDatabase | undefined;
const db = (): Db => {
  if (!database) throw new Error("database not ready");
  return database.db;
};
let ours: { team: string; experiment: number };
let theirs: { team: string; experiment: number };
const RUNS = 90;

async function seed(d: Db, slug: string, n: number, prefix: string): Promise<{ team: string; experiment: number }> {
  const [team] = await d.insert(teams).values({ slug, name: slug, namespace: `cairn-${slug}` }).returning();
  const [experiment] = await d.insert(experiments).values({ teamId: team!.id, name: slug, artifactLocation: "s3://b/1", creationTime: 1, lastUpdateTime: 1 }).returning();
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
  await d.insert(runs).values(ids.map((id, i) => ({
    id, name: id, status: "FINISHED" as const, startTime: 1000 + (i % 10) * 10, userId: "u", experimentId: experiment!.id, teamId: team!.id,
    artifactUri: `s3://b/${id}`, lifecycleStage: i % 17 === 5 ? ("deleted" as const) : ("active" as const),
  })));
  await d.insert(params).values(ids.flatMap((runId, i) => [
    ...(i % 7 === 0 ? [] : [{ runId, key: "p", value: ["a", "b", "c"][i % 3]! }]),
    { runId, key: "q", value: String(i % 5) },
  ]));
  await d.insert(latestMetrics).values(ids.flatMap((runId, i) => [
    ...(i % 13 === 0 ? [] : [{ runId, key: "m", value: i % 11 === 0 ? Number.NaN : Math.floor(i / 4) / 10, step: 0, timestamp: 1 }]),
    { runId, key: "n", value: (i * 37) % 17, step: 0, timestamp: 1 },
  ]));
  await d.insert(runTags).values(ids.flatMap((runId, i) => (i % 9 === 0 ? [] : [{ runId, key: "t", value: ["x", "y"][i % 2]! }])));
  return { team: team!.id, experiment: experiment!.id };
}

beforeAll(async () => {
  database = await createTestDatabase();
  ours = await seed(database.db, "pages", RUNS, "r");
  theirs = await seed(database.db, "others", 40, "z");
});

afterAll(async () => {
  await database?.close();
});

async function page(filter: string, orderBy: string[], limit: number, offset: number, candidateLimit: number): Promise<string[]> {
  const { where, orders, drivers } = parseSearch(filter, orderBy);
  const scope = and(eq(runs.experimentId, ours.experiment), eq(runs.teamId, ours.team), eq(runs.lifecycleStage, "active"), where);
  return (await selectRunPage(db(), scope, orders, limit, offset, drivers, candidateLimit)).map((r) => r.id);
}

const FILTERS = [
  "params.p = 'a'",
  "params.p IN ('a', 'b') AND metrics.n > 3",
  "tags.t = 'x' AND params.q != '2'",
  "metrics.m = 0.5",
  "params.p = 'b' AND (metrics.n < 5 OR tags.t = 'y')",
  "params.q IN ('1', '3') AND params.p = 'c' AND tags.t IS NOT NULL",
  "params.p = 'nothing'",
];
const ORDERS = [["metrics.m DESC"], ["metrics.m ASC", "params.q DESC"], ["params.q ASC"], ["tags.t DESC", "metrics.n ASC"], ["metrics.n DESC"], ["params.p DESC"]];

describe("selectRunPage with an equality's candidates checked first", () => {
  it.each(FILTERS)("gives the walk's pages for %s", async (filter) => {
    expect(parseSearch(filter, []).drivers.length).toBeGreaterThan(0);
    for (const order of ORDERS) {
      const walked = await page(filter, order, 1000, 0, -1);
      const candidates = await page(filter, order, 1000, 0, 1_000_000);
      expect({ filter, order, ids: candidates }).toEqual({ filter, order, ids: walked });
      expect(walked.every((id) => id.startsWith("r"))).toBe(true);
      for (const offset of [0, 5, 12]) {
        expect({ filter, order, offset, ids: await page(filter, order, 6, offset, 1_000_000) }).toEqual({ filter, order, offset, ids: walked.slice(offset, offset + 6) });
      }
    }
  });

  it("puts NaN metrics after numbers and runs without the metric last, in both directions", async () => {
    for (const direction of ["DESC", "ASC"]) {
      const ids = await page("params.q IN ('0', '1', '2', '3', '4')", [`metrics.m ${direction}`], 1000, 0, 1_000_000);
      const kind = (id: string) => { const i = Number(id.slice(1)); return i % 13 === 0 ? 2 : i % 11 === 0 ? 1 : 0; };
      const kinds = ids.map(kind);
      expect(kinds).toEqual([...kinds].sort((a, b) => a - b));
      expect(kinds).toContain(1);
      expect(kinds).toContain(2);
    }
  });

  it("falls back to the walk when an equality names more candidates than the limit", async () => {
    // Both teams' runs count as candidates (the index knows no experiment); the page is still only ours.
    const walked = await page("params.p = 'a'", ["metrics.m DESC"], 1000, 0, -1);
    expect(await page("params.p = 'a'", ["metrics.m DESC"], 1000, 0, 3)).toEqual(walked);
    expect(walked.length).toBeGreaterThan(3);
  });

  it("never shows another team's runs, though they share the candidates' values", async () => {
    const { where, orders, drivers } = parseSearch("params.p = 'a'", ["metrics.m DESC"]);
    const scope = and(eq(runs.experimentId, theirs.experiment), eq(runs.teamId, ours.team), where);
    expect(await selectRunPage(db(), scope, orders, 100, 0, drivers)).toEqual([]);
  });
});

describe("equalityDrivers", () => {
  const drivers = (filter: string) => equalityDrivers(parseFilter(filter)!);

  it("takes the equalities every match must satisfy", () => {
    expect(drivers("params.p = 'a' AND metrics.n > 3 AND tags.t IN ('x', 'y') AND metrics.m = 0.5")).toEqual([
      { kind: "param", key: "p", values: ["a"] },
      { kind: "tag", key: "t", values: ["x", "y"] },
      { kind: "metric", key: "m", values: [0.5] },
    ]);
    expect(drivers("(params.p = 'a' AND params.q = '1') AND status = 'FINISHED'")).toHaveLength(2);
  });

  it("takes none from an OR, a negation, a pattern, a range or an attribute", () => {
    expect(drivers("params.p = 'a' OR params.q = '1'")).toEqual([]);
    expect(drivers("params.p != 'a' AND params.q NOT IN ('1') AND tags.t LIKE 'x%' AND metrics.m > 0 AND run_name = 'r001'")).toEqual([]);
  });

  it("takes none from a numeric comparison of a param", () => {
    expect(drivers("params.q >= 1")).toEqual([]);
  });
});
