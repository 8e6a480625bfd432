// Registry views for Cairn's own API and pages: the models list, a model with its versions and alias
// history, and a version's lineage (source run, experiment, datasets, artifacts, signature).
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { latestMetrics, modelAliases, modelVersions, params, registeredModelTags, registeredModels, runs, teams } from "@/db/schema";
import type { ModelInspection } from "@/db/schema";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { artifactStore } from "../tracking/artifacts";
import type { ArtifactEntry } from "../artifacts/store";
import type { RunDto } from "../tracking/dto";
import { getExperiment } from "../tracking/experiments";
import { getRun } from "../tracking/runs";
import { loadModel, loadVersion, protectedAliases } from "./access";
import type { AliasEvent } from "./aliases";
import { aliasHistory } from "./aliases";
import type { DeployedAt } from "../deployments/where";
import { liveDeploymentsOf } from "../deployments/where";
import type { StableEndpointDto } from "../deployments/endpoints";
import { stableEndpointsOf } from "../deployments/endpoints";
import { searchScope } from "./models";
import { storageRoot } from "./sources";
import { getModelVersion } from "./versions";
import type { ModelVersionDto } from "./dto";

export type ModelListItem = {
  name: string;
  team: string;
  description: string;
  latest_version: number | null;
  aliases: Record<string, number>;
  version_count: number;
  /** Live deployments of the model: environment, version, status. */
  deployed: DeployedAt[];
  updated_at: string;
};

/** GET /api/v1/models: the models of the caller's teams (or one team), newest change first. */
export async function listModels(ctx: Ctx, input: { team?: string; q?: string; limit?: number }): Promise<{ models: ModelListItem[] }> {
  const teamIds = await searchScope(ctx, input.team);
  if (teamIds?.length === 0) return { models: [] };
  const q = input.q?.trim();
  const rows = await ctx.db
    .select({
      id: registeredModels.id, name: registeredModels.name, team: teams.slug, description: registeredModels.description,
      updated: registeredModels.lastUpdatedTime,
      latest: sql<number | null>`(select max(${modelVersions.version}) from ${modelVersions} where ${modelVersions.modelId} = ${registeredModels.id})`,
      count: sql<number>`(select count(*) from ${modelVersions} where ${modelVersions.modelId} = ${registeredModels.id})`,
    })
    .from(registeredModels)
    .innerJoin(teams, eq(teams.id, registeredModels.teamId))
    .where(and(
      teamIds ? inArray(registeredModels.teamId, teamIds) : undefined,
      q ? sql`${registeredModels.name} ilike ${`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}` : undefined,
    ))
    .orderBy(desc(registeredModels.lastUpdatedTime), asc(registeredModels.name))
    .limit(Math.min(input.limit ?? 500, 1000));
  const [aliases, deployed] = await Promise.all([
    rows.length ? ctx.db.select().from(modelAliases).where(inArray(modelAliases.modelId, rows.map((r) => r.id))).orderBy(asc(modelAliases.alias)) : [],
    liveDeploymentsOf(ctx.db, rows.map((r) => r.id)),
  ]);
  return {
    models: rows.map((r) => ({
      name: r.name,
      team: r.team,
      description: r.description,
      latest_version: r.latest === null ? null : Number(r.latest),
      aliases: Object.fromEntries(aliases.filter((a) => a.modelId === r.id).map((a) => [a.alias, a.version])),
      version_count: Number(r.count),
      deployed: deployed.get(r.id) ?? [],
      updated_at: new Date(r.updated).toISOString(),
    })),
  };
}

export type VersionSummary = {
  version: number;
  status: string;
  stage: string;
  source: string;
  storage_location: string;
  run_id: string | null;
  format: string;
  /** sha256:<hex> over the version's pinned files (null: registered before Cairn pinned files). */
  content_digest: string | null;
  aliases: string[];
  description: string;
  user: string;
  created_at: string;
};

export type ModelDetail = {
  name: string;
  team: string;
  description: string;
  tags: { key: string; value: string }[];
  aliases: Record<string, number>;
  protected_aliases: string[];
  versions: VersionSummary[];
  /** Live deployments of the model, newest first per environment. */
  deployed: DeployedAt[];
  /** The model's stable address per environment and the deployment each reaches now. */
  endpoints: StableEndpointDto[];
  alias_history: AliasEvent[];
  created_at: string;
  updated_at: string;
};

/** GET /api/v1/models/{name}: the model, its versions newest first, aliases and their history. */
export async function getModelDetail(ctx: Ctx, name: string, opts: { team?: string } = {}): Promise<ModelDetail> {
  const ref = await loadModel(ctx, name, { mode: "read" }, opts);
  const [[model], versions, aliases, tags, history, guarded, deployed, endpoints] = await Promise.all([
    ctx.db.select().from(registeredModels).where(eq(registeredModels.id, ref.id)),
    ctx.db.select().from(modelVersions).where(eq(modelVersions.modelId, ref.id)).orderBy(desc(modelVersions.version)),
    ctx.db.select().from(modelAliases).where(eq(modelAliases.modelId, ref.id)).orderBy(asc(modelAliases.alias)),
    ctx.db.select({ key: registeredModelTags.key, value: registeredModelTags.value }).from(registeredModelTags).where(eq(registeredModelTags.modelId, ref.id)).orderBy(asc(registeredModelTags.key)),
    aliasHistory(ctx, name, { team: ref.teamSlug }),
    protectedAliases(ctx.db, ref.teamId),
    liveDeploymentsOf(ctx.db, [ref.id]),
    stableEndpointsOf(ctx.db, { id: ref.id, name: ref.name, team: ref.teamSlug }),
  ]);
  return {
    name: ref.name,
    team: ref.teamSlug,
    description: model!.description,
    tags,
    aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
    protected_aliases: guarded,
    versions: versions.map((v) => ({
      version: v.version,
      status: v.status,
      stage: v.stage,
      source: v.source,
      storage_location: v.storageLocation,
      run_id: v.runId,
      format: (v.inspection as ModelInspection).format,
      content_digest: v.contentDigest,
      aliases: aliases.filter((a) => a.version === v.version).map((a) => a.alias),
      description: v.description,
      user: v.userId,
      created_at: new Date(v.creationTime).toISOString(),
    })),
    deployed: deployed.get(ref.id) ?? [],
    endpoints,
    alias_history: history,
    created_at: new Date(model!.creationTime).toISOString(),
    updated_at: new Date(model!.lastUpdatedTime).toISOString(),
  };
}

export type VersionLineage = {
  model: { name: string; team: string };
  version: ModelVersionDto;
  inspection: ModelInspection;
  run: RunDto | null;
  /** Why there is no run (deleted, or another team's), when run is null but the version names one. */
  run_missing?: string;
  experiment: { id: string; name: string } | null;
  artifacts: ArtifactEntry[];
  /** Live deployments of this version. */
  deployed: DeployedAt[];
};

/** A version with everything it came from: run (params, metrics, tags, datasets), experiment, artifacts. */
export async function getVersionLineage(ctx: Ctx, name: string, version: string | number, opts: { team?: string } = {}): Promise<VersionLineage> {
  const ref = await loadVersion(ctx, name, version, { mode: "read" }, opts);
  const [dto, [row], deployed] = await Promise.all([
    getModelVersion(ctx, ref.name, ref.version, { team: ref.teamSlug }),
    ctx.db.select({ inspection: modelVersions.inspection, runId: modelVersions.runId, location: modelVersions.storageLocation }).from(modelVersions).where(eq(modelVersions.id, ref.versionId)),
    liveDeploymentsOf(ctx.db, [ref.id]),
  ]);
  let run: RunDto | null = null;
  let runMissing: string | undefined;
  if (row!.runId) {
    run = await getRun(ctx, row!.runId).catch((err: unknown) => {
      if (err instanceof AppError && err.code === "not_found") { runMissing = "The source run is no longer readable."; return null; }
      throw err;
    });
  } else if (dto.run_id === "") {
    runMissing = "This version was registered without a run.";
  }
  const experiment = run ? await getExperiment(ctx, run.info.experiment_id).then((e) => ({ id: e.experiment_id, name: e.name })) : null;
  const root = storageRoot(ref.teamSlug, row!.location);
  const artifacts = root ? ((await artifactStore().list(root.root, root.rel)) ?? []) : [];
  return {
    model: { name: ref.name, team: ref.teamSlug }, version: dto, inspection: row!.inspection as ModelInspection, run,
    ...(runMissing ? { run_missing: runMissing } : {}), experiment, artifacts,
    deployed: (deployed.get(ref.id) ?? []).filter((d) => d.version === ref.version),
  };
}


export type VersionComparison = {
  model: { name: string; team: string };
  versions: { version: number; run_id: string | null; run_name: string | null; format: string; aliases: string[]; created_at: string }[];
  metrics: { key: string; values: (number | null)[] }[];
  params: { key: string; values: (string | null)[]; differs: boolean }[];
};

/** Side by side: the latest metrics and the params of the runs behind two (or more) versions. */
export async function compareVersions(ctx: Ctx, name: string, versions: (string | number)[], opts: { team?: string } = {}): Promise<VersionComparison> {
  if (versions.length < 2 || versions.length > 5) throw new AppError("invalid_input", "Compare 2 to 5 versions.");
  const refs = await Promise.all(versions.map((v) => loadVersion(ctx, name, v, { mode: "read" }, opts)));
  const dtos = await Promise.all(refs.map((r) => getModelVersion(ctx, r.name, r.version, { team: r.teamSlug })));
  const runIds = dtos.map((d) => d.run_id || null);
  const present = runIds.filter((x): x is string => !!x);
  const [ms, ps, names] = present.length
    ? await Promise.all([
        ctx.db.select().from(latestMetrics).where(inArray(latestMetrics.runId, present)),
        ctx.db.select().from(params).where(inArray(params.runId, present)),
        ctx.db.select({ id: runs.id, name: runs.name }).from(runs).where(inArray(runs.id, present)),
      ])
    : [[], [], []];
  const metricKeys = [...new Set(ms.map((m) => m.key))].sort();
  const paramKeys = [...new Set(ps.map((p) => p.key))].sort();
  return {
    model: { name: refs[0]!.name, team: refs[0]!.teamSlug },
    versions: dtos.map((d, i) => ({
      version: Number(d.version), run_id: runIds[i] ?? null, run_name: names.find((n) => n.id === runIds[i])?.name ?? null,
      format: d.format, aliases: d.aliases, created_at: new Date(d.creation_timestamp).toISOString(),
    })),
    metrics: metricKeys.map((key) => ({ key, values: runIds.map((id) => ms.find((m) => m.runId === id && m.key === key)?.value ?? null) })),
    params: paramKeys.map((key) => {
      const values = runIds.map((id) => ps.find((p) => p.runId === id && p.key === key)?.value ?? null);
      return { key, values, differs: new Set(values).size > 1 };
    }),
  };
}
