import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFsArtifactStore } from "@/server/artifacts/fs-store";
import type { ArtifactStore } from "@/server/artifacts/store";
import { onnxSignatureOf } from "@/server/registry/inspect";
import { experimentArtifactLocation, runArtifactUri } from "@/server/tracking/dto";
import { createTestDatabase } from "../test-db";
import type { TestDatabase } from "../test-db";
import { deployments, experiments, jobEvents, jobs, latestMetrics, memberships, modelAliasEvents, modelAliases, modelVersions, registeredModels, runInputs, runTags, runs, teams, users } from "../schema";
import { seedDemoJobs } from "./jobs";
import { seedDemoDeployments } from "./deployments";
import { seedDemoRegistry } from "./registry";
import { seedDemo } from "./demo";
import { buildDemoTracking, PNG_SIGNATURE, seedDemoTracking } from "./tracking";

const EXPECTED = {
  churn: { "churn-baseline": 120, "churn-gbm-sweep": 150, "churn-features-v2": 40 },
  fraud: { "fraud-xgb": 80, "fraud-autoencoder": 30 },
  vision: { "resnet-finetune": 25 },
} as const;

type Rows<T> = { rows: T[] };

async function readAll(store: ArtifactStore, root: string[], rel: string): Promise<Buffer | null> {
  const file = await store.get(root, rel);
  if (!file) return null;
  return Buffer.from(await new Response(file.stream).arrayBuffer());
}

describe("demo tracking seed", () => {
  let database: TestDatabase;
  let artifactDir: string;
  let store: ArtifactStore;
  let result: { experiments: number; runs: number };

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemo(database.db);
    artifactDir = mkdtempSync(path.join(os.tmpdir(), "cairn-seed-artifacts-"));
    store = createFsArtifactStore(artifactDir);
    result = await seedDemoTracking(database.db, store);
  });

  afterAll(async () => {
    if (artifactDir) rmSync(artifactDir, { recursive: true, force: true });
    await database?.close();
  });

  const db = () => database.db;

  it("seeds the six experiments in their teams with the expected run counts", async () => {
    expect(result).toEqual({ experiments: 6, runs: 445 });
    const rows = await db()
      .select({ id: experiments.id, name: experiments.name, team: teams.slug, location: experiments.artifactLocation, n: sql<number>`(select count(*)::int from runs r where r.experiment_id = ${experiments.id})` })
      .from(experiments)
      .innerJoin(teams, eq(teams.id, experiments.teamId));
    const byTeam: Record<string, Record<string, number>> = {};
    for (const r of rows) {
      (byTeam[r.team] ??= {})[r.name] = Number(r.n);
      expect(r.location).toBe(experimentArtifactLocation(r.id));
    }
    expect(byTeam).toEqual(EXPECTED);
  });

  it("keeps every run in an experiment of its own team, with MLflow's tags and a sane lifecycle", async () => {
    const rows = await db()
      .select({ run: runs, expTeam: experiments.teamId })
      .from(runs)
      .innerJoin(experiments, eq(experiments.id, runs.experimentId));
    expect(rows).toHaveLength(445);
    const members = await db().select({ teamId: memberships.teamId, email: users.email }).from(memberships).innerJoin(users, eq(users.id, memberships.userId));
    const admins = (await db().select({ email: users.email }).from(users).where(eq(users.isAdmin, true))).map((u) => u.email);
    const tags = await db().select().from(runTags);
    const tagsOf = new Map<string, Map<string, string>>();
    for (const t of tags) {
      if (!tagsOf.has(t.runId)) tagsOf.set(t.runId, new Map());
      tagsOf.get(t.runId)!.set(t.key, t.value);
    }
    const now = Date.now();
    for (const { run, expTeam } of rows) {
      expect(run.teamId).toBe(expTeam);
      expect(run.artifactUri).toBe(runArtifactUri(run.experimentId, run.id));
      expect(run.id).toMatch(/^[0-9a-f]{32}$/);
      const teamMembers = members.filter((m) => m.teamId === run.teamId).map((m) => m.email);
      expect(teamMembers.length ? teamMembers : admins).toContain(run.userId);
      const t = tagsOf.get(run.id)!;
      expect(t.get("mlflow.runName")).toBe(run.name);
      expect(t.get("mlflow.user")).toBe(run.userId);
      expect(t.get("mlflow.source.type")).toBe("LOCAL");
      expect(t.get("mlflow.source.name")).toBeTruthy();
      expect(t.get("git_commit")).toMatch(/^[0-9a-f]{40}$/);
      expect(run.startTime).toBeLessThanOrEqual(now);
      expect(run.startTime).toBeGreaterThan(now - 22 * 24 * 3600_000);
      if (run.status === "RUNNING") expect(run.endTime).toBeNull();
      else {
        expect(run.endTime).not.toBeNull();
        expect(run.endTime!).toBeGreaterThan(run.startTime);
        expect(run.endTime!).toBeLessThanOrEqual(now);
      }
    }
    const sweep = await db().select({ status: runs.status }).from(runs).innerJoin(experiments, eq(experiments.id, runs.experimentId)).where(eq(experiments.name, "churn-gbm-sweep"));
    const count = (s: string) => sweep.filter((r) => r.status === s).length;
    expect(count("RUNNING")).toBe(1);
    expect(count("FAILED")).toBeGreaterThan(0);
    expect(count("KILLED")).toBeGreaterThan(0);
    expect(count("FINISHED")).toBeGreaterThan(130);
  });

  it("lists every logged param, metric and tag key in each experiment's column list", async () => {
    const missing = (await db().execute(sql`
      select r.experiment_id, 'metric' as kind, m.key from latest_metrics m join runs r on r.id = m.run_id
      union select r.experiment_id, 'param', p.key from params p join runs r on r.id = p.run_id
      union select r.experiment_id, 'tag', t.key from run_tags t join runs r on r.id = t.run_id
      except select experiment_id, kind, key from experiment_keys`)) as unknown as { rows: unknown[] };
    expect(missing.rows).toEqual([]);
    const kinds = (await db().execute(sql`select distinct kind from experiment_keys order by kind`)) as unknown as { rows: { kind: string }[] };
    expect(kinds.rows.map((r) => r.kind)).toEqual(["metric", "param", "tag"]);
  });

  it("makes latest_metrics the highest-step point of each history", async () => {
    // Per (run, key): the history's point with the highest step, then the latest timestamp.
    const result = (await db().execute(sql`
      with ranked as (
        select run_id, key, value, step, timestamp,
               row_number() over (partition by run_id, key order by step desc, timestamp desc) as rn
        from metrics
      )
      select
        (select count(*)::int from ranked where rn = 1) as keys,
        (select count(*)::int from latest_metrics) as latest,
        (select count(*)::int from ranked r join latest_metrics l using (run_id, key)
          where r.rn = 1 and r.value = l.value and r.step = l.step and r.timestamp = l.timestamp) as matching,
        (select count(*)::int from metrics) as points
    `)) as unknown as Rows<{ keys: number; latest: number; matching: number; points: number }>;
    const row = result.rows[0]!;
    expect(row.latest).toBe(row.keys);
    expect(row.matching).toBe(row.keys);
    expect(row.points).toBeGreaterThan(50_000);
    expect(row.points).toBeLessThan(90_000);
    // Vision runs log 200 epochs; sorting the sweep by AUC gives distinct, sensible values.
    const vision = (await db().execute(sql`
      select max(m.step)::int as max_step from metrics m join runs r on r.id = m.run_id join experiments e on e.id = r.experiment_id
      where e.name = 'resnet-finetune' and r.status = 'FINISHED' and m.key = 'val_loss'
    `)) as unknown as Rows<{ max_step: number }>;
    expect(vision.rows[0]!.max_step).toBe(199);
    const aucs = await db().select({ value: latestMetrics.value }).from(latestMetrics).where(eq(latestMetrics.key, "auc"));
    expect(aucs.length).toBeGreaterThan(300);
    for (const { value } of aucs) expect(value).toBeGreaterThan(0.5);
    for (const { value } of aucs) expect(value).toBeLessThan(1);
  });

  it("links child runs to a parent in the same experiment, both ways", async () => {
    const all = await db().select().from(runs);
    const byId = new Map(all.map((r) => [r.id, r]));
    const children = all.filter((r) => r.parentRunId);
    expect(children.length).toBe(35);
    const tags = await db().select().from(runTags).where(eq(runTags.key, "mlflow.parentRunId"));
    const parentTag = new Map(tags.map((t) => [t.runId, t.value]));
    expect(parentTag.size).toBe(children.length);
    for (const child of children) {
      const parent = byId.get(child.parentRunId!);
      expect(parent).toBeDefined();
      expect(parent!.experimentId).toBe(child.experimentId);
      expect(parent!.parentRunId).toBeNull();
      expect(parentTag.get(child.id)).toBe(child.parentRunId);
      expect(child.startTime).toBeGreaterThanOrEqual(parent!.startTime);
      expect(child.endTime!).toBeLessThanOrEqual(parent!.endTime!);
    }
  });

  it("records dataset inputs with MLflow's context tag", async () => {
    const rows = await db().select().from(runInputs);
    expect(rows.length).toBeGreaterThan(400);
    const contexts = new Set(rows.map((r) => r.tags.find((t) => t.key === "mlflow.data.context")?.value));
    expect(contexts).toEqual(new Set(["training", "evaluation"]));
    const sets = (await db().execute(sql`select d.name, d.source_type, d.schema, d.experiment_id = r.experiment_id as same
      from run_inputs i join datasets d on d.id = i.dataset_id join runs r on r.id = i.run_id`)) as unknown as Rows<{ name: string; source_type: string; schema: string; same: boolean }>;
    for (const s of sets.rows) {
      expect(s.same).toBe(true);
      expect(s.source_type).toBe("local");
      expect(() => JSON.parse(s.schema) as unknown).not.toThrow();
    }
    expect(sets.rows.map((s) => s.name)).toContain("churn-train");
  });

  it("writes artifacts for each experiment's best runs, including a real PNG", async () => {
    const candidates = await db()
      .select({ runId: runs.id, experimentId: runs.experimentId, team: teams.slug })
      .from(runTags)
      .innerJoin(runs, eq(runs.id, runTags.runId))
      .innerJoin(teams, eq(teams.id, runs.teamId))
      .where(eq(runTags.key, "candidate"));
    expect(candidates).toHaveLength(18);
    for (const c of candidates) {
      const root = [c.team, String(c.experimentId), c.runId];
      const listing = (await store.list(root, ""))!.map((e) => e.path);
      expect(listing).toEqual(["confusion_matrix.csv", "feature_importance.png", "metrics.json", "model", "notes.md"]);
      const png = (await readAll(store, root, "feature_importance.png"))!;
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(png.subarray(12, 16).toString("ascii")).toBe("IHDR");
      const metricsJson = JSON.parse((await readAll(store, root, "metrics.json"))!.toString("utf8")) as { run_id: string; metrics: Record<string, number> };
      expect(metricsJson.run_id).toBe(c.runId);
      expect(Object.keys(metricsJson.metrics).length).toBeGreaterThan(3);
      // Tabular models carry their input example (what Try it starts from); the vision model has none.
      const example = c.team === "vision" ? [] : ["model/input_example.json"];
      expect((await store.list(root, "model"))!.map((e) => e.path).sort()).toEqual(["model/MLmodel", ...example, "model/model.onnx"].sort());
      if (example.length) {
        const rows = (JSON.parse((await readAll(store, root, "model/input_example.json"))!.toString("utf8")) as { inputs: number[][] }).inputs;
        expect(rows.length).toBeGreaterThan(0);
        expect((await readAll(store, root, "model/MLmodel"))!.toString("utf8")).toContain("artifact_path: input_example.json");
      }
      const graph = onnxSignatureOf((await readAll(store, root, "model/model.onnx"))!);
      expect(graph?.outputs).toEqual([expect.objectContaining({ name: "probabilities", type: "float32" })]);
      const mlmodel = (await readAll(store, root, "model/MLmodel"))!.toString("utf8");
      expect(mlmodel).toContain("python_function:");
      expect(mlmodel).toContain("onnx:");
      expect(mlmodel).toContain(`run_id: ${c.runId}`);
      const inputs = /^ {2}inputs: '(.*)'$/m.exec(mlmodel)?.[1];
      expect(() => JSON.parse(inputs!.replace(/''/g, "'")) as unknown).not.toThrow();
      const csv = (await readAll(store, root, "confusion_matrix.csv"))!.toString("utf8").trim().split("\n");
      expect(csv.length).toBeGreaterThanOrEqual(3);
    }
  });

  it("registers the demo models from the best runs, with ONNX signatures, aliases and their history", async () => {
    expect(await seedDemoRegistry(db(), store)).toEqual({ models: 3, versions: 7 });
    const versions = await db()
      .select({ model: registeredModels.name, team: teams.slug, version: modelVersions.version, runId: modelVersions.runId, location: modelVersions.storageLocation, inspection: modelVersions.inspection, stage: modelVersions.stage })
      .from(modelVersions)
      .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
      .innerJoin(teams, eq(teams.id, registeredModels.teamId))
      .orderBy(registeredModels.name, modelVersions.version);
    expect(versions.map((v) => `${v.team}/${v.model}/${v.version}`)).toEqual([
      "churn/churn-classifier/1", "churn/churn-classifier/2", "churn/churn-classifier/3", "churn/churn-classifier/4",
      "vision/defect-classifier/1", "fraud/fraud-detector/1", "fraud/fraud-detector/2",
    ]);
    for (const v of versions) {
      expect(v.inspection.format).toBe("onnx");
      expect(v.inspection.signatureSource).toBe("onnx");
      expect(v.location).toMatch(new RegExp(`/${v.runId}/artifacts/model$`));
    }
    const churn = versions.filter((v) => v.model === "churn-classifier");
    expect(churn[0]!.inspection.signature!.inputs).toEqual([{ name: "features", type: "float32", shape: ["N", 11] }]);
    expect(churn[0]!.inspection.signature!.outputs).toEqual([{ name: "probabilities", type: "float32", shape: ["N", 2] }]);
    expect(churn.map((v) => v.stage)).toEqual(["Archived", "None", "Production", "Staging"]);
    const aliases = await db().select({ alias: modelAliases.alias, version: modelAliases.version }).from(modelAliases).orderBy(modelAliases.alias);
    expect(aliases).toContainEqual({ alias: "production", version: 3 });
    expect(aliases).toContainEqual({ alias: "champion", version: 4 });
    expect((await db().select().from(modelAliasEvents)).length).toBe(aliases.length);
    expect(await seedDemoRegistry(db(), store)).toEqual({ models: 0, versions: 0 });
  });

  it("records churn's production and staging deployments of the classifier (the versions its aliases hold)", async () => {
    expect(await seedDemoDeployments(db())).toEqual({ deployments: 2 });
    const rows = await db().select({ env: deployments.environment, version: deployments.version, alias: deployments.alias, status: deployments.status, replicas: deployments.replicas, by: deployments.createdByEmail })
      .from(deployments).orderBy(deployments.environment);
    expect(rows).toEqual([
      { env: "production", version: 3, alias: "production", status: "deploying", replicas: 1, by: "lead@example.com" },
      { env: "staging", version: 4, alias: "champion", status: "deploying", replicas: 1, by: "ds@example.com" },
    ]);
    expect(await seedDemoDeployments(db())).toEqual({ deployments: 0 });
  });

  it("seeds the job history behind the demo runs: succeeded, failed and cancelled, with timelines and logs", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-seed-jobs-"));
    try {
      const { jobs: n } = await seedDemoJobs(db(), dir);
      expect(n).toBeGreaterThan(20);
      const rows = await db().select({ id: jobs.id, status: jobs.status, runId: jobs.runId, team: teams.slug, gpus: jobs.gpus, runSeconds: jobs.runSeconds, runStatus: runs.status, failure: jobs.failureCause })
        .from(jobs).innerJoin(teams, eq(teams.id, jobs.teamId)).innerJoin(runs, eq(runs.id, jobs.runId));
      expect(new Set(rows.map((r) => r.status))).toEqual(new Set(["succeeded", "failed", "cancelled"]));
      for (const r of rows) {
        expect(r.runStatus).toBe({ succeeded: "FINISHED", failed: "FAILED", cancelled: "KILLED" }[r.status as "failed"]);
        expect(r.runSeconds).toBeGreaterThan(0);
        const log = readFileSync(path.join(dir, "jobs", r.id, "output.log"), "utf8");
        expect(log).toMatch(/^=== attempt 1 started/);
        if (r.status === "succeeded") expect(log).toMatch(/epoch +\d+ +.*val_/);
        // A failed job's banner names the exception its log ends with, and its line.
        if (r.status === "failed") expect(log.split("\n")[r.failure!.line! - 1]).toBe(r.failure!.summary);
        else expect(r.failure).toBeNull();
      }
      expect(rows.filter((r) => r.team === "vision").every((r) => r.gpus === 4)).toBe(true);
      const events = await db().select({ status: jobEvents.status }).from(jobEvents).where(eq(jobEvents.jobId, rows[0]!.id)).orderBy(jobEvents.id);
      expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", rows[0]!.status]);
      expect(await seedDemoJobs(db(), dir)).toEqual({ jobs: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("does nothing on a database that already has experiments", async () => {
    const before = await db().select({ n: sql<number>`count(*)::int` }).from(runs);
    expect(await seedDemoTracking(db(), store)).toEqual({ experiments: 0, runs: 0 });
    expect(await seedDemo(db(), { store })).toBe(false);
    expect(await db().select({ n: sql<number>`count(*)::int` }).from(runs)).toEqual(before);
  });

  it("generates the same runs every time (for the same clock)", () => {
    const people = { churn: ["ds@example.com"], fraud: ["ds.fraud@example.com"], vision: ["admin@example.com"] };
    const summary = () => buildDemoTracking(1_700_000_000_000, people).map((e) => e.runs.map((r) => [r.id, r.name, r.status, r.startTime, r.history.length, r.history.at(-1)?.value]));
    expect(summary()).toEqual(summary());
  });
});
