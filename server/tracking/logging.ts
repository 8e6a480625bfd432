// Logging into a run: params (immutable), metrics (history + latest per key), tags, inputs, models.
// A batch is all-or-nothing; rows are written in key order so concurrent writers never deadlock.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { datasets, loggedModels, params, runInputs, runOutputs, runTags, runs } from "@/db/schema";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import type { RunRef } from "./access";
import { loadRun, requireActiveRun } from "./access";
import { recordKeys } from "./keys";
import type { Point, TokenWrite } from "./metric-write";
import { writeMetricPoints, writeMetricPointsByToken } from "./metric-write";
import { scheduleFold } from "./rollups";
import { TRAIN } from "./runs";

type KV = { key: string; value: string };
export type MetricPoint = { key: string; value: number; timestamp?: number; step?: number };
export type BatchInput = { run_id: string; metrics: MetricPoint[]; params: KV[]; tags: KV[] };

const RUN_NAME_TAG = "mlflow.runName";

const byKey = <T extends { key: string }>(a: T, b: T) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

async function writeParams(tx: DbOrTx, runId: string, items: KV[]): Promise<void> {
  if (items.length === 0) return;
  const seen = new Map<string, string>();
  for (const p of items) {
    const prior = seen.get(p.key);
    if (prior !== undefined && prior !== p.value) {
      throw new AppError("invalid_input", `Duplicate parameter key '${p.key}' with different values ('${prior}', '${p.value}') in one batch.`);
    }
    seen.set(p.key, p.value);
  }
  const rows = [...seen].map(([key, value]) => ({ runId, key, value })).sort(byKey);
  await tx.insert(params).values(rows).onConflictDoNothing();
  // Params are immutable: logging a different value for an existing key is an error (MLflow's rule).
  const stored = await tx.select({ key: params.key, value: params.value }).from(params).where(and(eq(params.runId, runId), inArray(params.key, rows.map((r) => r.key))));
  for (const s of stored) {
    const wanted = seen.get(s.key);
    if (wanted !== undefined && wanted !== s.value) {
      throw new AppError(
        "invalid_input",
        `Changing param values is not allowed. Param with key='${s.key}' was already logged with value='${s.value}' for run ID='${runId}'. Attempted logging new value '${wanted}'.`,
      );
    }
  }
}

async function writeTags(tx: DbOrTx, runId: string, items: KV[]): Promise<void> {
  if (items.length === 0) return;
  const latest = new Map(items.map((t) => [t.key, t.value]));
  const rows = [...latest].map(([key, value]) => ({ runId, key, value })).sort(byKey);
  await tx.insert(runTags).values(rows).onConflictDoUpdate({ target: [runTags.runId, runTags.key], set: { value: sql`excluded.value` } });
  // As in set-tag: the run-name tag is the run's name (mlflow.set_tags sends it in a batch).
  const runName = latest.get(RUN_NAME_TAG);
  if (runName !== undefined) await tx.update(runs).set({ name: runName }).where(eq(runs.id, runId));
}

/** The points as stored: a missing timestamp is now, a missing step 0. */
function normalize(items: MetricPoint[]): Point[] {
  const now = Date.now();
  return items.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp ?? now, step: m.step ?? 0 }));
}

const inactive = (run: RunRef) => requireActiveRun({ ...run, runLifecycle: "deleted" });

export async function logBatch(ctx: Ctx, input: BatchInput): Promise<void> {
  const run = await loadRun(ctx, input.run_id, TRAIN);
  requireActiveRun(run);
  const points = normalize(input.metrics);
  if (input.params.length === 0 && input.tags.length === 0) {
    // Metrics only: one statement, atomic on its own (history, rollups, latest values, key list).
    if (!(await writeMetricPoints(ctx.db, run, points))) inactive(run);
    return;
  }
  await ctx.db.transaction(async (tx) => {
    await writeParams(tx, run.runId, input.params);
    await writeTags(tx, run.runId, input.tags);
    if (!(await writeMetricPoints(tx, run, points, true))) inactive(run);
  });
  if (points.length > 0) scheduleFold(ctx.db);
  // After the commit: a refused batch must not leave its keys in the column list.
  await recordKeys(ctx.db, run.experimentId, "param", input.params.map((p) => p.key));
  await recordKeys(ctx.db, run.experimentId, "tag", input.tags.map((t) => t.key));
  await recordKeys(ctx.db, run.experimentId, "metric", input.metrics.map((m) => m.key));
}

/**
 * A metric-only batch sent with an API token (by its lookup hash), checked and written in one statement:
 * the token's grant (revocation and membership read in that statement), the run, the points. Returns
 * who wrote, or null having written nothing when any check fails; the caller then resolves the actor and
 * calls logBatch, which says why (and audits a denial).
 */
export async function logMetricsByToken(db: Db, tokenHash: string, runId: string, items: MetricPoint[]): Promise<TokenWrite | null> {
  return writeMetricPointsByToken(db, tokenHash, runId, normalize(items));
}

export async function logParam(ctx: Ctx, runId: string, key: string, value: string): Promise<void> {
  await logBatch(ctx, { run_id: runId, params: [{ key, value }], metrics: [], tags: [] });
}

export async function logMetric(ctx: Ctx, runId: string, point: MetricPoint): Promise<void> {
  await logBatch(ctx, { run_id: runId, params: [], metrics: [point], tags: [] });
}

type DatasetInput = { tags: KV[]; dataset: { name: string; digest: string; source_type: string; source: string; schema?: string; profile?: string } };

export async function logInputs(ctx: Ctx, runId: string, inputs: DatasetInput[]): Promise<void> {
  const run = await loadRun(ctx, runId, TRAIN);
  requireActiveRun(run);
  if (inputs.length === 0) return;
  await ctx.db.transaction(async (tx) => {
    for (const input of inputs) {
      const d = input.dataset;
      const [row] = await tx
        .insert(datasets)
        .values({ experimentId: run.experimentId, name: d.name, digest: d.digest, sourceType: d.source_type, source: d.source, schema: d.schema, profile: d.profile })
        .onConflictDoUpdate({ target: [datasets.experimentId, datasets.name, datasets.digest], set: { source: d.source } })
        .returning({ id: datasets.id });
      await tx.insert(runInputs).values({ runId, datasetId: row!.id, tags: input.tags }).onConflictDoUpdate({ target: [runInputs.runId, runInputs.datasetId], set: { tags: input.tags } });
    }
  });
}

/** MLflow 2's log-model: appends the model's metadata to the run's `mlflow.log-model.history` tag. */
export async function logModel(ctx: Ctx, runId: string, modelJson: string): Promise<void> {
  let model: unknown;
  try {
    model = JSON.parse(modelJson);
  } catch {
    throw new AppError("invalid_input", "model_json is not valid JSON.");
  }
  if (!model || typeof model !== "object" || typeof (model as { artifact_path?: unknown }).artifact_path !== "string") {
    throw new AppError("invalid_input", "model_json must be an object with an artifact_path.");
  }
  const run = await loadRun(ctx, runId, TRAIN);
  requireActiveRun(run);
  await ctx.db.transaction(async (tx) => {
    // Serialises appends to the history; NO KEY: a metric write's foreign-key check (KEY SHARE) need not wait for it.
    await tx.execute(sql`select 1 from runs where id = ${runId} for no key update`);
    const [tag] = await tx.select({ value: runTags.value }).from(runTags).where(and(eq(runTags.runId, runId), eq(runTags.key, "mlflow.log-model.history")));
    let history: unknown[] = [];
    try {
      history = tag ? (JSON.parse(tag.value) as unknown[]) : [];
    } catch {
      history = [];
    }
    const value = JSON.stringify([...history, model]);
    await tx.insert(runTags).values({ runId, key: "mlflow.log-model.history", value }).onConflictDoUpdate({ target: [runTags.runId, runTags.key], set: { value } });
  });
}

/** MLflow 3: records that a run produced logged models. */
export async function logOutputs(ctx: Ctx, runId: string, models: { model_id: string; step: number }[]): Promise<void> {
  const run = await loadRun(ctx, runId, TRAIN);
  const ids = models.map((m) => m.model_id);
  const found = await ctx.db.select({ id: loggedModels.id }).from(loggedModels).where(and(inArray(loggedModels.id, ids), eq(loggedModels.teamId, run.teamId)));
  const missing = ids.filter((id) => !found.some((f) => f.id === id));
  if (missing.length) throw new AppError("not_found", `Logged model ${missing[0]} not found.`);
  await ctx.db.insert(runOutputs).values(models.map((m) => ({ runId, modelId: m.model_id, step: m.step }))).onConflictDoNothing();
}
