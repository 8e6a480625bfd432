// Logging into a run: params (immutable), metrics (history + latest per key), tags, inputs, models.
// A batch is all-or-nothing; rows are written in key order so concurrent writers never deadlock.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { datasets, latestMetrics, loggedModels, metrics, params, runInputs, runOutputs, runTags, runs } from "@/db/schema";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadRun, requireActiveRun } from "./access";
import { recordKeys } from "./keys";
import { upsertRollups } from "./rollups";
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

/** MLflow's "latest": the highest step, then the latest timestamp, then the larger value. */
function later(a: Required<MetricPoint>, b: Required<MetricPoint>): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value || Number.isNaN(a.value);
}

async function writeMetrics(tx: DbOrTx, runId: string, items: MetricPoint[]): Promise<void> {
  if (items.length === 0) return;
  const now = Date.now();
  const points = items.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp ?? now, step: m.step ?? 0 }));
  // One statement whatever the batch size: four bound arrays instead of five parameters per point.
  // A point identical to one already logged (run, key, step, timestamp, value) is stored once, as in
  // MLflow, so a client's retry of a request that did succeed leaves the history unchanged.
  const inserted = (await tx.execute(sql`
    insert into ${metrics} (run_id, key, value, step, timestamp)
    select ${runId}, k, v, s, t
    from unnest(
      ${sql.param(points.map((p) => p.key))}::text[], ${sql.param(points.map((p) => p.value))}::float8[],
      ${sql.param(points.map((p) => p.step))}::bigint[], ${sql.param(points.map((p) => p.timestamp))}::bigint[]
    ) as u(k, v, s, t)
    on conflict do nothing
    returning key, value, step, timestamp`)) as unknown as { rows: { key: string; value: number | string; step: number | string; timestamp: number | string }[] };
  await upsertRollups(tx, runId, inserted.rows.map((r) => ({ key: r.key, value: Number(r.value), step: Number(r.step), timestamp: Number(r.timestamp) })));
  const latest = new Map<string, Required<MetricPoint>>();
  for (const p of points) {
    const cur = latest.get(p.key);
    if (!cur || later(p, cur)) latest.set(p.key, p);
  }
  const rows = [...latest.values()].sort(byKey).map((p) => ({ runId, ...p }));
  await tx
    .insert(latestMetrics)
    .values(rows)
    .onConflictDoUpdate({
      target: [latestMetrics.runId, latestMetrics.key],
      set: { value: sql`excluded.value`, step: sql`excluded.step`, timestamp: sql`excluded.timestamp` },
      // The same rule as later(): step, then timestamp, then the larger value (NaN sorts highest in both).
      setWhere: sql`(excluded.step, excluded.timestamp, excluded.value) > (${latestMetrics.step}, ${latestMetrics.timestamp}, ${latestMetrics.value})`,
    });
}

export async function logBatch(ctx: Ctx, input: BatchInput): Promise<void> {
  const run = await loadRun(ctx, input.run_id, TRAIN);
  requireActiveRun(run);
  await ctx.db.transaction(async (tx) => {
    await writeParams(tx, run.runId, input.params);
    await writeTags(tx, run.runId, input.tags);
    await writeMetrics(tx, run.runId, input.metrics);
  });
  // After the commit: a refused batch must not leave its keys in the column list.
  await recordKeys(ctx.db, run.experimentId, "param", input.params.map((p) => p.key));
  await recordKeys(ctx.db, run.experimentId, "tag", input.tags.map((t) => t.key));
  await recordKeys(ctx.db, run.experimentId, "metric", input.metrics.map((m) => m.key));
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
    await tx.execute(sql`select 1 from runs where id = ${runId} for update`);
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
