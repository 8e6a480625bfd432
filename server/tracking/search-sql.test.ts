import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/db/client";
import { datasets, experiments, latestMetrics, params, runInputs, runs, runTags, teams } from "@/db/schema";
import { createTestDatabase } from "@/db/test-db";
import type { TestDatabase } from "@/db/test-db";
import { MAX_CONDITIONS, parseFilter, parseOrderBy } from "@/lib/search/filter";
import type { FilterNode } from "@/lib/search/filter";
import { brushesToFilter, combineFilters } from "@/lib/chart-brush";
import type { ChartBrush } from "@/lib/chart-brush";
import { compileFilter, compileOrderBy } from "./search-sql";

const INJECTED_TAG = "'; drop table runs; --";

// id, name, status, start_time, end_time, user_id, artifact bucket
const RUNS = [
  ["r01", "baseline", "FINISHED", 1000, 2000, "alice", "s3://bucket"],
  ["r02", "baseline-2", "FINISHED", 2000, 3000, "alice", "s3://bucket"],
  ["r03", "tuned", "FAILED", 3000, 3500, "bob", "s3://bucket"],
  ["r04", "Tuned-B", "RUNNING", 4000, null, "bob", "s3://bucket"],
  ["r05", "sweep-1", "KILLED", 5000, 6000, "carol", "s3://other"],
  ["r06", "sweep-2", "FINISHED", 6000, 7000, "carol", "s3://other"],
  ["r07", "quoted", "FINISHED", 7000, 8000, "dave", "s3://other"],
  ["r08", "empty", "SCHEDULED", 8000, null, "dave", "s3://other"],
  ["r09", "big", "FINISHED", 1_700_000_000_000, 1_700_000_000_005, "erin", "s3://other"],
  ["r10", "negative", "FAILED", 9000, 9500, "erin", "s3://other"],
] as const;

const PARAMS: [string, string, string][] = [
  ["r01", "lr", "0.01"], ["r01", "opt", "adam"],
  ["r02", "lr", "0.1"], ["r02", "opt", "sgd"],
  ["r03", "lr", "0.001"], ["r03", "opt", "Adam"],
  ["r05", "lr", "0.01"], ["r05", "opt", "ADAMW"],
  ["r06", "lr", "0.02"], ["r06", "my lr", "0.5"],
  ["r07", "quote", "it's"],
  ["r10", "lr", "1e-3"],
  // Text that is or is not a number, for numeric ranges on params.
  ["r03", "width", "5"], ["r07", "width", " 12 "], ["r08", "width", "1e999"], ["r10", "width", "-2.5"],
  ["r04", "width", "NaN"], ["r09", "width", "abc"], ["r01", "width", "Infinity"], ["r02", "width", "1e99999"], ["r05", "width", "0x10"],
  ["r01", "odd`key\\", "3"], ["r02", "odd`key\\", "7"],
];

const METRICS: [string, string, number][] = [
  ["r01", "acc", 0.8], ["r01", "loss", 0.5],
  ["r02", "acc", 0.9], ["r02", "loss", 0.3],
  ["r03", "acc", 0.95], ["r03", "loss", 0.2],
  ["r04", "loss", 1.2],
  ["r05", "acc", 0.5],
  ["r06", "acc", 0.9], ["r06", "f1 score", 0.7],
  ["r07", "acc", 0.1],
  ["r09", "acc", 0.6],
  ["r10", "acc", -1.5],
];

const TAGS: [string, string, string][] = [
  ["r01", "model", "ResNet"], ["r01", "team", "vision"],
  ["r02", "model", "resnet"],
  ["r03", "model", "VGG"],
  ["r05", "model", "resnet50"],
  ["r06", "mlflow.runName", "sweep-2"], ["r06", "pct", "100%"],
  ["r07", "note", INJECTED_TAG], ["r07", "pct", "100x"],
];

let database: TestDatabase | undefined;
const db = (): Db => {
  if (!database) throw new Error("database not ready");
  return database.db;
};

beforeAll(async () => {
  database = await createTestDatabase();
  const d = database.db;
  const [team] = await d.insert(teams).values({ slug: "search", name: "Search", namespace: "cairn-search" }).returning();
  const [experiment] = await d
    .insert(experiments)
    .values({ teamId: team!.id, name: "search", artifactLocation: "s3://bucket/1", creationTime: 1, lastUpdateTime: 1 })
    .returning();
  const experimentId = experiment!.id;
  await d.insert(runs).values(
    RUNS.map(([id, name, status, startTime, endTime, userId, bucket]) => ({
      id, name, status, startTime, endTime, userId, experimentId, teamId: team!.id, artifactUri: `${bucket}/${id}`,
    })),
  );
  await d.insert(params).values(PARAMS.map(([runId, key, value]) => ({ runId, key, value })));
  await d.insert(latestMetrics).values(METRICS.map(([runId, key, value]) => ({ runId, key, value, step: 0, timestamp: 1 })));
  await d.insert(runTags).values(TAGS.map(([runId, key, value]) => ({ runId, key, value })));
  const [mnist, cifar, mnist2] = await d
    .insert(datasets)
    .values([
      { experimentId, name: "mnist", digest: "aaa", sourceType: "s3", source: "s3://data/mnist" },
      { experimentId, name: "cifar10", digest: "bbb", sourceType: "s3", source: "s3://data/cifar" },
      { experimentId, name: "mnist", digest: "ccc", sourceType: "s3", source: "s3://data/mnist2" },
    ])
    .returning();
  const context = (value: string) => ({ key: "mlflow.data.context", value });
  await d.insert(runInputs).values([
    { runId: "r01", datasetId: mnist!.id, tags: [context("training")] },
    { runId: "r02", datasetId: mnist!.id, tags: [context("eval")] },
    { runId: "r02", datasetId: cifar!.id, tags: [context("training")] },
    { runId: "r03", datasetId: mnist2!.id, tags: [] },
    // "training" under another key is not a context.
    { runId: "r05", datasetId: cifar!.id, tags: [{ key: "other", value: "training" }, context("Testing")] },
  ]);
});

afterAll(async () => {
  await database?.close();
});

function compiled(filter: string): FilterNode {
  const node = parseFilter(filter);
  if (!node) throw new Error(`empty filter: ${filter}`);
  return node;
}

async function ids(filter: string): Promise<string[]> {
  const rows = await db().select({ id: runs.id }).from(runs).where(compileFilter(compiled(filter)));
  return rows.map((r) => r.id).sort();
}

const ALL = RUNS.map(([id]) => id);
const except = (...excluded: string[]) => ALL.filter((id) => !excluded.includes(id));

describe("compileFilter: metrics", () => {
  it.each([
    ["metrics.acc > 0.85", ["r02", "r03", "r06"]],
    ["metrics.acc >= 0.9", ["r02", "r03", "r06"]],
    ["metrics.acc < 0.5", ["r07", "r10"]],
    ["metrics.acc <= 0.5", ["r05", "r07", "r10"]],
    ["metrics.acc = 0.9", ["r02", "r06"]],
    // MLflow semantics: != needs the metric to be present.
    ["metrics.acc != 0.9", ["r01", "r03", "r05", "r07", "r09", "r10"]],
    ["metrics.acc <> 0.9", ["r01", "r03", "r05", "r07", "r09", "r10"]],
    ["metrics.acc < -1e0", ["r10"]],
    ["metrics.acc IS NULL", ["r04", "r08"]],
    ["metrics.acc IS NOT NULL", except("r04", "r08")],
    ["metrics.`f1 score` > 0.5", ["r06"]],
    ["metric.loss > 1", ["r04"]],
    ["metrics.nothing > 0", []],
  ])("%s", async (filter, expected) => {
    expect(await ids(filter)).toEqual(expected);
  });
});

describe("compileFilter: params and tags", () => {
  it.each([
    ["params.lr = '0.01'", ["r01", "r05"]],
    ["params.lr != '0.01'", ["r02", "r03", "r06", "r10"]],
    ["params.opt LIKE 'Adam%'", ["r03"]],
    ["params.opt ILIKE 'adam%'", ["r01", "r03", "r05"]],
    ["params.lr IN ('0.1', '0.02')", ["r02", "r06"]],
    ["params.lr NOT IN ('0.01')", ["r02", "r03", "r06", "r10"]],
    ["params.lr IS NULL", ["r04", "r07", "r08", "r09"]],
    ["params.lr IS NOT NULL", ["r01", "r02", "r03", "r05", "r06", "r10"]],
    ["params.`my lr` = '0.5'", ["r06"]],
    ['parameters."my lr" = \'0.5\'', ["r06"]],
    ["params.quote = 'it''s'", ["r07"]],
    ["params.quote = \"it's\"", ["r07"]],
    ["tags.model = 'resnet'", ["r02"]],
    ["tags.model != 'VGG'", ["r01", "r02", "r05"]],
    ["tags.model LIKE 'res%'", ["r02", "r05"]],
    ["tags.model ILIKE 'res%'", ["r01", "r02", "r05"]],
    ["tags.model LIKE '%es%'", ["r01", "r02", "r05"]],
    ["tags.model IN ('VGG', 'ResNet')", ["r01", "r03"]],
    ["tags.model NOT IN ('VGG')", ["r01", "r02", "r05"]],
    ["tags.model IS NULL", ["r04", "r06", "r07", "r08", "r09", "r10"]],
    ["tags.mlflow.runName = 'sweep-2'", ["r06"]],
    ["tag.`mlflow.runName` = 'sweep-2'", ["r06"]],
    ["tags.pct LIKE '100%'", ["r06", "r07"]],
    // A backslash escapes the wildcard, as in SQL.
    ["tags.pct LIKE '100\\%'", ["r06"]],
  ])("%s", async (filter, expected) => {
    expect(await ids(filter)).toEqual(expected);
  });
});

describe("compileFilter: numeric ranges on params (Cairn's extension)", () => {
  it.each([
    ["params.lr >= 0.01", ["r01", "r02", "r05", "r06"]],
    ["params.lr < 0.01", ["r03", "r10"]],
    ["params.lr > 0.005 AND params.lr <= 0.02", ["r01", "r05", "r06"]],
    ["params.lr >= 0.001 AND params.lr <= 0.001", ["r03", "r10"]],
    // Only text that is a number takes part: NaN, Infinity, hex and an exponent past numeric's range never match.
    ["params.width >= 0", ["r03", "r07", "r08"]],
    ["params.width < 0", ["r10"]],
    ["params.width > -1e300 AND params.width < 1e300", ["r03", "r07", "r10"]],
    ["params.lr > 0.05 OR params.width > 10", ["r02", "r07", "r08"]],
    ["params.lr >= 0.01 AND params.opt IN ('adam', 'sgd')", ["r01", "r02"]],
    // An empty range (low above high) selects nothing rather than failing.
    ["params.lr >= 0.1 AND params.lr <= 0.01", []],
  ])("%s", async (filter, expected) => {
    expect(await ids(filter)).toEqual(expected);
  });

  it("keeps equality on a param a comparison of text", async () => {
    expect(await ids("params.lr = '1e-3'")).toEqual(["r10"]);
  });
});

describe("compileFilter: the experiment charts' brushes", () => {
  const table = (filter: string, brushes: ChartBrush[]) => ids(combineFilters(filter, brushesToFilter(brushes)));

  it("selects the runs inside every brush, AND-ed to the table's filter", async () => {
    expect(await table("params.opt = 'adam' OR params.opt = 'sgd'", [{ key: "metrics.acc", kind: "range", min: 0.85, max: 0.7 }])).toEqual(["r01"]);
    expect(await table("", [{ key: "metrics.acc", kind: "range", min: 0.85, max: 1 }, { key: "params.lr", kind: "range", min: 0.001, max: 0.05 }])).toEqual(["r03", "r06"]);
    expect(await table("", [{ key: "params.opt", kind: "in", values: ["sgd", "Adam"] }, { key: "attributes.start_time", kind: "range", min: 0, max: 2500 }])).toEqual(["r02"]);
  });

  it("reads odd key names back through their backticks", async () => {
    expect(await table("", [{ key: "params.odd`key\\", kind: "range", min: 2, max: 5 }])).toEqual(["r01"]);
    expect(await table("", [{ key: "metrics.f1 score", kind: "range", min: 0.7, max: 0.7 }])).toEqual(["r06"]);
    expect(await table("", [{ key: "params.my lr", kind: "in", values: ["0.5"] }])).toEqual(["r06"]);
  });
});

describe("compileFilter: attributes", () => {
  it.each([
    ["status = 'FINISHED'", ["r01", "r02", "r06", "r07", "r09"]],
    ["attributes.status != 'FINISHED'", ["r03", "r04", "r05", "r08", "r10"]],
    ["run.status IN ('FAILED', 'KILLED')", ["r03", "r05", "r10"]],
    ["attr.status NOT IN ('FINISHED', 'FAILED')", ["r04", "r05", "r08"]],
    ["status LIKE 'F%'", ["r01", "r02", "r03", "r06", "r07", "r09", "r10"]],
    ["status LIKE 'f%'", []],
    ["status ILIKE 'f%'", ["r01", "r02", "r03", "r06", "r07", "r09", "r10"]],
    ["run_name = 'tuned'", ["r03"]],
    ["run_name LIKE 'tuned%'", ["r03"]],
    ["run_name ILIKE 'tuned%'", ["r03", "r04"]],
    ["run_id = 'r03'", ["r03"]],
    ["attributes.run_id IN ('r01', 'r10')", ["r01", "r10"]],
    ["run_id NOT IN ('r01', 'r10')", except("r01", "r10")],
    ["run_id LIKE 'r1%'", ["r10"]],
    ["user_id = 'alice'", ["r01", "r02"]],
    ["artifact_uri LIKE 's3://other/%'", ["r05", "r06", "r07", "r08", "r09", "r10"]],
    ["start_time > 5000", ["r06", "r07", "r08", "r09", "r10"]],
    ["created >= 5000", ["r05", "r06", "r07", "r08", "r09", "r10"]],
    ["start_time = 1000", ["r01"]],
    ["start_time != 1000", except("r01")],
    ["start_time < 2000.5", ["r01", "r02"]],
    ["start_time <= 1e20", ALL],
    ["start_time >= 1700000000000", ["r09"]],
    ["end_time > 7000", ["r07", "r09", "r10"]],
    ["end_time != 2000", ["r02", "r03", "r05", "r06", "r07", "r09", "r10"]],
  ])("%s", async (filter, expected) => {
    expect(await ids(filter)).toEqual(expected);
  });
});

describe("compileFilter: datasets", () => {
  it.each([
    ["datasets.name = 'mnist'", ["r01", "r02", "r03"]],
    ["datasets.name != 'mnist'", ["r02", "r05"]],
    ["datasets.name LIKE 'cifar%'", ["r02", "r05"]],
    ["datasets.name LIKE 'MNIST'", []],
    ["dataset.name ILIKE 'MNIST'", ["r01", "r02", "r03"]],
    ["datasets.digest IN ('bbb', 'ccc')", ["r02", "r03", "r05"]],
    ["datasets.digest NOT IN ('aaa')", ["r02", "r03", "r05"]],
    ["datasets.context = 'training'", ["r01", "r02"]],
    ["datasets.context LIKE 'testing'", []],
    ["datasets.context ILIKE 'testing'", ["r05"]],
    ["datasets.context IN ('eval', 'Testing')", ["r02", "r05"]],
    ["datasets.context NOT IN ('training')", ["r02", "r05"]],
    ["datasets.name = 'mnist' AND datasets.context = 'eval'", ["r02"]],
  ])("%s", async (filter, expected) => {
    expect(await ids(filter)).toEqual(expected);
  });
});

describe("compileFilter: AND, OR and parentheses", () => {
  it.each([
    ["metrics.acc > 0.85 AND params.lr = '0.1' OR status = 'KILLED'", ["r02", "r05"]],
    ["metrics.acc > 0.85 AND (params.lr = '0.1' OR status = 'KILLED')", ["r02"]],
    ["(status = 'FAILED' OR status = 'KILLED') AND metrics.acc > 0", ["r03", "r05"]],
    ["status = 'FAILED' OR status = 'KILLED' AND metrics.acc > 0", ["r03", "r05", "r10"]],
    ["((tags.model = 'VGG' OR (tags.model ILIKE 'resnet')) AND user_id != 'bob') OR run_id = 'r08'", ["r01", "r02", "r08"]],
    ["metrics.acc IS NULL OR metrics.acc IS NOT NULL", ALL],
  ])("%s", async (filter, expected) => {
    expect(await ids(filter)).toEqual(expected);
  });

  it("treats empty hand-built groups as true (AND) and false (OR)", async () => {
    expect((await db().select({ id: runs.id }).from(runs).where(compileFilter({ type: "and", children: [] })))).toHaveLength(10);
    expect(await db().select({ id: runs.id }).from(runs).where(compileFilter({ type: "or", children: [] }))).toEqual([]);
  });

  it("rejects hand-built comparisons of the wrong type", () => {
    const entity = { kind: "metric", key: "acc" } as const;
    expect(() => compileFilter({ type: "cmp", entity, op: ">", value: "0.5", position: 0 })).toThrow(/needs a number/);
    expect(() => compileFilter({ type: "cmp", entity: { kind: "param", key: "lr" }, op: "IN", value: [], position: 0 })).toThrow(/non-empty list/);
    expect(() => compileFilter({ type: "cmp", entity: { kind: "attribute", key: "nope" }, op: "=", value: "x", position: 0 })).toThrow(/Unknown run attribute/);
  });
});

describe("compileFilter: injection attempts", () => {
  it("binds a quoted OR as a literal that matches nothing", async () => {
    const filter = "params.lr = '0.01'' OR ''1''=''1'";
    expect(compiled(filter)).toMatchObject({ type: "cmp", value: "0.01' OR '1'='1" });
    expect(await ids(filter)).toEqual([]);
    const query = db().select({ id: runs.id }).from(runs).where(compileFilter(compiled(filter))).toSQL();
    expect(query.sql).not.toContain("OR '1'");
    expect(query.params).toContain("0.01' OR '1'='1");
  });

  it("matches a stored SQL-looking tag literally and leaves the runs table alone", async () => {
    expect(await ids("tags.note = '''; drop table runs; --'")).toEqual(["r07"]);
    expect(await ids('tags.note = "\'; drop table runs; --"')).toEqual(["r07"]);
    expect(await ids("tags.note LIKE '%drop table%'")).toEqual(["r07"]);
    expect(await ids("tags.`note'; drop table runs; --` IS NULL")).toEqual(ALL);
    const query = db().select({ id: runs.id }).from(runs).where(compileFilter(compiled("tags.note = '''; drop table runs; --'"))).toSQL();
    expect(query.sql).not.toMatch(/drop table/i);
    const [count] = await db().select({ n: sql<number>`count(*)::int` }).from(runs);
    expect(count?.n).toBe(10);
    expect(await db().select({ id: runs.id }).from(runs).where(eq(runs.id, "r07"))).toHaveLength(1);
  });
});

describe("compileOrderBy", () => {
  async function ordered(clause: string, filter?: string): Promise<string[]> {
    const order = parseOrderBy(clause);
    const { expression } = compileOrderBy(order);
    const direction = order.ascending ? sql`asc` : sql`desc`;
    const query = db().select({ id: runs.id }).from(runs);
    const filtered = filter ? query.where(compileFilter(compiled(filter))) : query;
    const rows = await filtered.orderBy(sql`${expression} ${direction} nulls last`, asc(runs.id));
    return rows.map((r) => r.id);
  }

  it("sorts by a metric descending, runs lacking it last", async () => {
    expect(await ordered("metrics.acc DESC")).toEqual(["r03", "r02", "r06", "r01", "r09", "r05", "r07", "r10", "r04", "r08"]);
  });

  it("sorts by a metric ascending, runs lacking it still last", async () => {
    expect(await ordered("metrics.acc")).toEqual(["r10", "r07", "r05", "r09", "r01", "r02", "r06", "r03", "r04", "r08"]);
  });

  it("combines with a filter (parameters numbered across WHERE and ORDER BY)", async () => {
    expect(await ordered("metrics.loss DESC", "params.lr IN ('0.01', '0.1', '0.001') AND metrics.loss IS NOT NULL")).toEqual(["r01", "r02", "r03"]);
  });

  it("sorts by params, tags and attributes", async () => {
    expect(await ordered("params.lr ASC")).toEqual(["r03", "r01", "r05", "r06", "r02", "r10", "r04", "r07", "r08", "r09"]);
    // Same-case values, so the result does not depend on the database's collation.
    expect(await ordered("tags.model DESC", "tags.model IN ('resnet', 'resnet50')")).toEqual(["r05", "r02"]);
    expect(await ordered("end_time DESC")).toEqual(["r09", "r10", "r07", "r06", "r05", "r03", "r02", "r01", "r04", "r08"]);
    expect(await ordered("created DESC", "start_time <= 3000")).toEqual(["r03", "r02", "r01"]);
  });

  it("refuses dataset fields", () => {
    expect(() => compileOrderBy({ entity: { kind: "dataset", key: "name" }, ascending: true })).toThrow(/dataset/);
  });
});

describe("compileFilter: conditions on one table share one pass", () => {
  // Comparisons chosen to hit every path: missing keys, IS NULL / IS NOT NULL, !=, NOT IN, LIKE, ILIKE,
  // IN, ranges, several conditions on one key, and datasets (several inputs per run).
  const POOL = [
    "metrics.acc > 0.85", "metrics.acc != 0.9", "metrics.acc IS NULL", "metrics.acc IS NOT NULL", "metrics.loss < 1",
    "metrics.loss >= 0.3", "metrics.nothing IS NULL", "metrics.acc <= 0.9", "metrics.`f1 score` > 0.5", "metrics.acc = 0.9",
    "params.lr = '0.01'", "params.lr != '0.01'", "params.lr IN ('0.1', '0.02')", "params.lr NOT IN ('0.01')", "params.lr IS NULL",
    "params.opt LIKE 'Adam%'", "params.opt ILIKE 'adam%'", "params.opt IS NOT NULL", "params.nothing IS NULL", "params.lr LIKE '0.0%'",
    "tags.model ILIKE 'res%'", "tags.model != 'VGG'", "tags.model IS NULL", "tags.pct LIKE '100%'", "tags.team IS NOT NULL",
    "tags.model NOT IN ('VGG')", "tags.model IN ('VGG', 'resnet')", "status = 'FINISHED'", "run_name LIKE 'sweep%'", "start_time > 3000",
    "datasets.name = 'mnist'", "datasets.context = 'training'", "datasets.digest != 'aaa'", "datasets.name LIKE 'cifar%'",
  ];

  /** Each comparison alone (one EXISTS, the plain path), combined in JavaScript: what the filter must mean. */
  async function expected(node: FilterNode): Promise<Set<string>> {
    if (node.type === "cmp") {
      const rows = await db().select({ id: runs.id }).from(runs).where(compileFilter(node));
      return new Set(rows.map((r) => r.id));
    }
    const sets = await Promise.all(node.children.map(expected));
    if (node.type === "and") return new Set(ALL.filter((id) => sets.every((s) => s.has(id))));
    return new Set(ALL.filter((id) => sets.some((s) => s.has(id))));
  }

  /** A seeded generator (mulberry32), so a failure names a filter that reproduces. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function randomFilter(next: () => number, depth: number): string {
    const pick = () => POOL[Math.floor(next() * POOL.length)]!;
    const size = 2 + Math.floor(next() * 5);
    const parts = Array.from({ length: size }, () => (depth > 0 && next() < 0.3 ? `(${randomFilter(next, depth - 1)})` : pick()));
    return parts.join(next() < 0.5 ? " AND " : " OR ");
  }

  it.each([
    "metrics.acc > 0.85 AND metrics.acc != 0.9 AND params.lr IS NOT NULL AND params.lr != '0.1'",
    "metrics.acc IS NULL AND metrics.loss > 1",
    "params.lr = '0.01' AND params.lr IS NULL",
    "params.lr IS NULL AND params.opt IS NULL AND tags.model IS NULL",
    "params.lr IS NULL OR params.opt IS NULL OR params.lr = '0.1'",
    "tags.model ILIKE 'res%' OR tags.model IS NULL OR tags.pct LIKE '100%'",
    "metrics.acc >= 0.5 AND metrics.acc <= 0.9 AND metrics.loss IS NOT NULL",
    "datasets.name = 'mnist' AND datasets.context = 'eval'",
    "datasets.name = 'cifar10' AND datasets.digest != 'bbb'",
    "datasets.name = 'mnist' OR datasets.context = 'Testing'",
    "(params.lr = '0.01' AND params.opt ILIKE 'adam%') OR (metrics.acc > 0.9 AND metrics.loss < 0.3) OR tags.model IS NULL",
  ])("%s", async (filter) => {
    expect(await ids(filter)).toEqual([...(await expected(compiled(filter)))].sort());
  });

  it("gives the same runs as each comparison on its own, for 150 random mixed filters", async () => {
    const next = random(12);
    for (let i = 0; i < 150; i++) {
      let filter = randomFilter(next, 2);
      while (filter.split(/ AND | OR /).length > MAX_CONDITIONS) filter = randomFilter(next, 2);
      const node = compiled(filter);
      expect({ filter, runs: await ids(filter) }).toEqual({ filter, runs: [...(await expected(node))].sort() });
    }
  });

  it("compiles 50 comparisons into a few subqueries, not one each", () => {
    const filter = Array.from({ length: 50 }, (_, i) => ["params", "metrics", "tags"][i % 3] === "metrics" ? `metrics.m${i} > ${i}` : `${["params", "metrics", "tags"][i % 3]}.k${i} != 'x'`).join(" and ");
    const text = db().select({ id: runs.id }).from(runs).where(compileFilter(compiled(filter))).toSQL().sql;
    // One pass per table (params, latest_metrics, run_tags); no equality to keep as an EXISTS.
    expect(text.match(/\(select /g)?.length ?? 0).toBe(3);
    const or = db().select({ id: runs.id }).from(runs).where(compileFilter(compiled(filter.replaceAll(" and ", " or ")))).toSQL().sql;
    expect(or.match(/\(select /g)?.length ?? 0).toBeLessThanOrEqual(3);
  });
});
