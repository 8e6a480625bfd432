// MLflow-shaped registry DTOs (RegisteredModel, ModelVersion), hydrated in a few set queries.
import { asc, eq, inArray } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { modelAliases, modelVersionTags, modelVersions, registeredModelTags, registeredModels, teams } from "@/db/schema";
import type { ModelInspection } from "@/db/schema";
import type { DbOrTx } from "@/db/client";
import type { KeyValue } from "../tracking/dto";

export type ModelVersionDto = {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: string;
  description: string;
  source: string;
  run_id: string;
  status: string;
  status_message?: string;
  tags: KeyValue[];
  run_link?: string;
  aliases: string[];
  model_id?: string;
  /** Cairn extensions (ignored by MLflow clients). */
  team: string;
  storage_location: string;
  format: string;
  /** sha256:<hex> over the version's pinned files (null: registered before Cairn pinned files). */
  content_digest: string | null;
};

export type RegisteredModelDto = {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string;
  latest_versions: ModelVersionDto[];
  tags: KeyValue[];
  aliases: { alias: string; version: string }[];
  /** Cairn extension. */
  team: string;
};

type VersionRow = typeof modelVersions.$inferSelect & { name: string; team: string };

export async function versionRows(db: DbOrTx, where: SQL | undefined): Promise<VersionRow[]> {
  const rows = await db
    .select({ v: modelVersions, name: registeredModels.name, team: teams.slug })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .innerJoin(teams, eq(teams.id, registeredModels.teamId))
    .where(where)
    .orderBy(asc(registeredModels.name), asc(modelVersions.version));
  return rows.map((r) => ({ ...r.v, name: r.name, team: r.team }));
}

export async function versionDtos(db: DbOrTx, rows: VersionRow[]): Promise<ModelVersionDto[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const modelIds = [...new Set(rows.map((r) => r.modelId))];
  const [tags, aliases] = await Promise.all([
    db.select().from(modelVersionTags).where(inArray(modelVersionTags.versionId, ids)).orderBy(asc(modelVersionTags.key)),
    db.select().from(modelAliases).where(inArray(modelAliases.modelId, modelIds)).orderBy(asc(modelAliases.alias)),
  ]);
  return rows.map((r) => versionDto(r, tags.filter((t) => t.versionId === r.id), aliases.filter((a) => a.modelId === r.modelId && a.version === r.version).map((a) => a.alias)));
}

function versionDto(r: VersionRow, tags: { key: string; value: string }[], aliases: string[]): ModelVersionDto {
  const inspection = r.inspection as ModelInspection;
  return {
    name: r.name,
    version: String(r.version),
    creation_timestamp: r.creationTime,
    last_updated_timestamp: r.lastUpdatedTime,
    user_id: r.userId,
    current_stage: r.stage,
    description: r.description,
    source: r.source,
    run_id: r.runId ?? "",
    status: r.status,
    ...(r.statusMessage ? { status_message: r.statusMessage } : {}),
    tags: tags.map((t) => ({ key: t.key, value: t.value })),
    ...(r.runLink ? { run_link: r.runLink } : {}),
    aliases,
    ...(r.loggedModelId ? { model_id: r.loggedModelId } : {}),
    team: r.team,
    storage_location: r.storageLocation,
    format: inspection.format,
    content_digest: r.contentDigest,
  };
}

type ModelRow = typeof registeredModels.$inferSelect & { team: string };

/** MLflow's latest_versions: the newest version in each stage. */
export function latestPerStage(versions: ModelVersionDto[]): ModelVersionDto[] {
  const byStage = new Map<string, ModelVersionDto>();
  for (const v of versions) {
    const prior = byStage.get(v.current_stage);
    if (!prior || Number(v.version) > Number(prior.version)) byStage.set(v.current_stage, v);
  }
  return [...byStage.values()].sort((a, b) => Number(a.version) - Number(b.version));
}

export async function modelDtos(db: DbOrTx, rows: ModelRow[]): Promise<RegisteredModelDto[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [tags, aliases, versions] = await Promise.all([
    db.select().from(registeredModelTags).where(inArray(registeredModelTags.modelId, ids)).orderBy(asc(registeredModelTags.key)),
    db.select().from(modelAliases).where(inArray(modelAliases.modelId, ids)).orderBy(asc(modelAliases.alias)),
    versionRows(db, inArray(modelVersions.modelId, ids)).then((v) => versionDtos(db, v)),
  ]);
  return rows.map((r) => ({
    name: r.name,
    creation_timestamp: r.creationTime,
    last_updated_timestamp: r.lastUpdatedTime,
    description: r.description,
    latest_versions: latestPerStage(versions.filter((v) => v.name === r.name && v.team === r.team)),
    tags: tags.filter((t) => t.modelId === r.id).map((t) => ({ key: t.key, value: t.value })),
    aliases: aliases.filter((a) => a.modelId === r.id).map((a) => ({ alias: a.alias, version: String(a.version) })),
    team: r.team,
  }));
}

export async function modelRows(db: DbOrTx, where: SQL | undefined): Promise<ModelRow[]> {
  const rows = await db.select({ m: registeredModels, team: teams.slug }).from(registeredModels).innerJoin(teams, eq(teams.id, registeredModels.teamId)).where(where);
  return rows.map((r) => ({ ...r.m, team: r.team }));
}
