// MLflow 3 logged models: created before their artifacts are uploaded, finalized to READY.
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { latestMetrics, loggedModelTags, loggedModels } from "@/db/schema";
import { appendAudit } from "../audit/record";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadExperiment, loadRun } from "./access";
import type { KeyValue, MetricDto } from "./dto";
import { metricDto } from "./dto";
import { decodeOffset, encodeOffset } from "./experiments";
import { TRAIN } from "./runs";

export const MODEL_STATUSES = ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"] as const;

export type LoggedModelDto = {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    artifact_uri: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    status: string;
    status_message?: string;
    source_run_id?: string;
    model_type?: string;
    tags: KeyValue[];
  };
  data: { params: KeyValue[]; metrics: MetricDto[] };
};

type ModelRow = typeof loggedModels.$inferSelect;

async function toDtos(ctx: Ctx, rows: ModelRow[]): Promise<LoggedModelDto[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const runIds = rows.map((r) => r.sourceRunId).filter((x): x is string => !!x);
  const [tags, ms] = await Promise.all([
    ctx.db.select().from(loggedModelTags).where(inArray(loggedModelTags.modelId, ids)).orderBy(asc(loggedModelTags.key)),
    runIds.length ? ctx.db.select().from(latestMetrics).where(inArray(latestMetrics.runId, runIds)) : Promise.resolve([]),
  ]);
  return rows.map((r) => ({
    info: {
      model_id: r.id,
      experiment_id: String(r.experimentId),
      name: r.name,
      artifact_uri: r.artifactLocation,
      creation_timestamp_ms: r.creationTime,
      last_updated_timestamp_ms: r.lastUpdatedTime,
      status: r.status,
      ...(r.statusMessage ? { status_message: r.statusMessage } : {}),
      ...(r.sourceRunId ? { source_run_id: r.sourceRunId } : {}),
      ...(r.modelType ? { model_type: r.modelType } : {}),
      tags: tags.filter((t) => t.modelId === r.id).map((t) => ({ key: t.key, value: t.value })),
    },
    data: { params: r.params, metrics: ms.filter((m) => m.runId === r.sourceRunId).map(metricDto) },
  }));
}

/** Loads a logged model the actor may read (or write); another team's model is "not found". */
async function loadModel(ctx: Ctx, modelId: string, write: boolean): Promise<ModelRow> {
  const [row] = /^m-[0-9a-f]{32}$/.test(modelId) ? await ctx.db.select().from(loggedModels).where(eq(loggedModels.id, modelId)) : [];
  if (!row) throw new AppError("not_found", `Logged model with ID '${modelId}' not found.`);
  await loadExperiment(ctx, row.experimentId, write ? { ...TRAIN, action: "logged_model.update" } : { mode: "read" });
  return row;
}

export async function createLoggedModel(
  ctx: Ctx,
  input: { experiment_id: string; name?: string; source_run_id?: string; model_type?: string; params?: KeyValue[]; tags?: KeyValue[] },
): Promise<LoggedModelDto> {
  const exp = await loadExperiment(ctx, input.experiment_id, { ...TRAIN, action: "logged_model.create" });
  if (input.source_run_id) {
    const run = await loadRun(ctx, input.source_run_id, { mode: "read" });
    if (run.teamId !== exp.teamId) throw new AppError("invalid_input", "source_run_id must be a run of the same team.");
  }
  const id = `m-${randomUUID().replace(/-/g, "")}`;
  const now = Date.now();
  const row = await ctx.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(loggedModels)
      .values({
        id, experimentId: exp.id, teamId: exp.teamId, name: input.name || "model", sourceRunId: input.source_run_id ?? null,
        modelType: input.model_type ?? null, artifactLocation: `mlflow-artifacts:/${exp.id}/models/${id}/artifacts`,
        params: input.params ?? [], creationTime: now, lastUpdatedTime: now,
      })
      .returning();
    const tags = [...new Map((input.tags ?? []).map((t) => [t.key, t.value]))];
    if (tags.length) await tx.insert(loggedModelTags).values(tags.map(([key, value]) => ({ modelId: id, key, value })));
    await appendAudit(tx, ctx, { action: "logged_model.create", target: `logged_model:${id}`, teamId: exp.teamId, team: exp.teamSlug, details: { name: created!.name } });
    return created!;
  });
  const [dto] = await toDtos(ctx, [row]);
  return dto!;
}

export async function getLoggedModel(ctx: Ctx, modelId: string): Promise<LoggedModelDto> {
  const [dto] = await toDtos(ctx, [await loadModel(ctx, modelId, false)]);
  return dto!;
}

export async function finalizeLoggedModel(ctx: Ctx, modelId: string, status: string): Promise<LoggedModelDto> {
  if (!(MODEL_STATUSES as readonly string[]).includes(status)) throw new AppError("invalid_input", `status must be one of ${MODEL_STATUSES.join(", ")}.`);
  const row = await loadModel(ctx, modelId, true);
  const [updated] = await ctx.db.update(loggedModels).set({ status, lastUpdatedTime: Date.now() }).where(eq(loggedModels.id, row.id)).returning();
  const [dto] = await toDtos(ctx, [updated!]);
  return dto!;
}

export async function setLoggedModelTags(ctx: Ctx, modelId: string, tags: KeyValue[]): Promise<void> {
  const row = await loadModel(ctx, modelId, true);
  const unique = [...new Map(tags.map((t) => [t.key, t.value]))].sort(([a], [b]) => (a < b ? -1 : 1));
  if (unique.length === 0) return;
  await ctx.db
    .insert(loggedModelTags)
    .values(unique.map(([key, value]) => ({ modelId: row.id, key, value })))
    .onConflictDoUpdate({ target: [loggedModelTags.modelId, loggedModelTags.key], set: { value: sql`excluded.value` } });
}

export async function deleteLoggedModelTag(ctx: Ctx, modelId: string, key: string): Promise<void> {
  const row = await loadModel(ctx, modelId, true);
  await ctx.db.delete(loggedModelTags).where(and(eq(loggedModelTags.modelId, row.id), eq(loggedModelTags.key, key)));
}

export async function deleteLoggedModel(ctx: Ctx, modelId: string): Promise<void> {
  const row = await loadModel(ctx, modelId, true);
  await ctx.db.transaction(async (tx) => {
    await tx.delete(loggedModels).where(eq(loggedModels.id, row.id));
    await appendAudit(tx, ctx, { action: "logged_model.delete", target: `logged_model:${row.id}`, teamId: row.teamId });
  });
}

/** `<field> <op> '<value>'` clauses joined by AND; read clause by clause so quoted values may contain "and". */
function modelFilter(filter: string): SQL {
  const clause = /^(name|source_run_id|model_type|status)\s*(=|!=|LIKE|ILIKE)\s*'((?:[^']|'')*)'\s*(?:AND\s+(?=\S)|$)/i;
  const conditions: SQL[] = [];
  for (let rest = filter.trim(); rest; ) {
    const m = clause.exec(rest);
    if (!m) throw new AppError("invalid_input", `Unsupported logged-model filter "${rest}". Use name, source_run_id, model_type or status with =, !=, LIKE or ILIKE and a quoted value, joined by AND.`);
    rest = rest.slice(m[0].length);
    const column = { name: loggedModels.name, source_run_id: loggedModels.sourceRunId, model_type: loggedModels.modelType, status: loggedModels.status }[m[1]!.toLowerCase() as "name"];
    const value = m[3]!.replace(/''/g, "'");
    const op = m[2]!.toUpperCase();
    conditions.push(op === "=" ? eq(column, value) : op === "!=" ? sql`${column} <> ${value}` : op === "LIKE" ? sql`${column} like ${value}` : sql`${column} ilike ${value}`);
  }
  return and(...conditions)!;
}

export async function searchLoggedModels(
  ctx: Ctx,
  input: { experiment_ids: string[]; filter?: string; max_results?: number; page_token?: string },
): Promise<{ models: LoggedModelDto[]; next_page_token?: string }> {
  const exps = await Promise.all(input.experiment_ids.map((id) => loadExperiment(ctx, id, { mode: "read" })));
  const limit = Math.min(input.max_results ?? 100, 1000);
  const offset = decodeOffset(input.page_token);
  const rows = await ctx.db
    .select()
    .from(loggedModels)
    .where(and(inArray(loggedModels.experimentId, exps.map((e) => e.id)), input.filter?.trim() ? modelFilter(input.filter.trim()) : undefined))
    .orderBy(desc(loggedModels.creationTime), desc(loggedModels.id))
    .limit(limit + 1)
    .offset(offset);
  return {
    models: await toDtos(ctx, rows.slice(0, limit)),
    ...(rows.length > limit ? { next_page_token: encodeOffset(offset + limit) } : {}),
  };
}
