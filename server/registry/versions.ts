// Model versions: numbered per model (numbers never reused), created from the team's own artifacts,
// with description, tags and MLflow's legacy stages — labels only: a stage never moves an alias or
// deploys anything.
import { randomUUID } from "node:crypto";
import { and, asc, eq, exists, inArray, ne, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { modelAliasEvents, modelAliases, modelVersionTags, modelVersions, registeredModels } from "@/db/schema";
import { actorLabel } from "../auth/actor";
import { assertNotDeployed } from "../deployments/where";
import { appendAudit, denied } from "../audit/record";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { decodeOffset, encodeOffset } from "../tracking/experiments";
import { artifactStore, freezeArtifacts, thawArtifacts } from "../tracking/artifacts";
import type { KeyValue } from "../tracking/dto";
import { MANAGE, REGISTER, isProtected, loadModel, loadVersion, protectedAliases } from "./access";
import type { VersionRef } from "./access";
import type { ModelVersionDto } from "./dto";
import { versionDtos, versionRows } from "./dto";
import { comparison, compileRegistryFilter, compileRegistryOrder } from "./filter";
import { inspectModel } from "./inspect";
import { canonicalStage, dedupe, searchScope } from "./models";
import { pinRoot, pinVersionFiles, pinnedStore, removePin } from "./pins";
import { assertStorageRoom } from "../artifacts/usage";
import { resolveSource } from "./sources";
import { forgetReference, SENSITIVE_TAG } from "../drift/reference";

type TeamOpt = { team?: string };

export type CreateVersionInput = {
  name: string;
  source: string;
  run_id?: string;
  model_id?: string;
  tags?: KeyValue[];
  run_link?: string;
  description?: string;
  /** Refuse a source that holds no files (Cairn's own register calls; MLflow's endpoint accepts any source). */
  requireFiles?: boolean;
} & TeamOpt;

export async function createModelVersion(ctx: Ctx, input: CreateVersionInput): Promise<ModelVersionDto> {
  const ref = await loadModel(ctx, input.name, { ...REGISTER, action: "model_version.create" }, input);
  const team = { id: ref.teamId, slug: ref.teamSlug };
  const resolved = await resolveSource(ctx, team, input);
  // The files are pinned first and inspected from the pinned copy: what the version shows is what it serves.
  // The source is frozen first (freezeArtifacts: writes that land later are refused), so no write lands at
  // the source between the copy and the version's commit; the copy runs outside any transaction.
  const versionId = randomUUID();
  await freezeArtifacts(ctx.db, { id: versionId, teamId: ref.teamId, root: resolved.root, storageLocation: resolved.storageLocation, modelName: ref.name });
  let inspection: Awaited<ReturnType<typeof inspectModel>>;
  let pin: Awaited<ReturnType<typeof pinVersionFiles>>;
  try {
    pin = await pinVersionFiles({ store: artifactStore(), root: resolved.root, rel: resolved.rel }, versionId);
    if (input.requireFiles && pin.manifest.length === 0) {
      throw new AppError("invalid_input", `${input.source.trim()} holds no files: name the folder the model was logged to (the run's artifacts list it).`, { fields: { path: ["no files at this path in the run's artifacts"] } });
    }
    // The pinned copy counts against the team's storage quota like the files it copies.
    await assertStorageRoom(ctx.db, artifactStore(), team, pin.manifest.reduce((sum, f) => sum + f.size, 0));
    inspection = await inspectModel(pinnedStore(), pinRoot(versionId), pin.rel);
  } catch (err) {
    await removePin(versionId);
    await thawArtifacts(ctx.db, versionId);
    throw err;
  }
  const version = await ctx.db.transaction(async (tx) => {
    const now = Date.now();
    // The row lock on the model serializes concurrent registrations; numbers are never reused.
    const [bumped] = await tx
      .update(registeredModels)
      .set({ lastVersion: sql`${registeredModels.lastVersion} + 1`, lastUpdatedTime: now })
      .where(eq(registeredModels.id, ref.id))
      .returning({ version: registeredModels.lastVersion });
    if (!bumped) throw new AppError("not_found", `Registered Model with name=${input.name} not found`);
    const [row] = await tx
      .insert(modelVersions)
      .values({
        id: versionId, modelId: ref.id, version: bumped.version, contentDigest: pin.digest, contentManifest: pin.manifest, source: input.source.trim(), storageLocation: resolved.storageLocation, runId: resolved.runId,
        loggedModelId: resolved.loggedModelId, description: input.description ?? "", runLink: input.run_link || null, inspection,
        userId: ctx.actor.email, createdBy: ctx.actor.userId, creationTime: now, lastUpdatedTime: now,
      })
      .returning({ id: modelVersions.id });
    const tags = dedupe(input.tags ?? []);
    if (tags.length) await tx.insert(modelVersionTags).values(tags.map((t) => ({ versionId: row!.id, ...t })));
    await appendAudit(tx, ctx, {
      action: "model_version.create", target: `model:${ref.teamSlug}/${ref.name}/${bumped.version}`, teamId: ref.teamId, team: ref.teamSlug,
      details: { source: input.source, storage_location: resolved.storageLocation, run_id: resolved.runId, format: inspection.format, content_digest: pin.digest, files: pin.manifest.length },
    });
    // The version now freezes its files itself.
    await thawArtifacts(tx, versionId);
    return bumped.version;
  }).catch(async (err: unknown) => {
    await removePin(versionId);
    await thawArtifacts(ctx.db, versionId);
    throw err;
  });
  return getModelVersion(ctx, input.name, version, { team: ref.teamSlug });
}

async function dtoOf(ctx: Ctx, ref: VersionRef): Promise<ModelVersionDto> {
  const [dto] = await versionDtos(ctx.db, await versionRows(ctx.db, eq(modelVersions.id, ref.versionId)));
  return dto!;
}

export async function getModelVersion(ctx: Ctx, name: string, version: string | number, opts: TeamOpt = {}): Promise<ModelVersionDto> {
  return dtoOf(ctx, await loadVersion(ctx, name, version, { mode: "read" }, opts));
}

export async function getDownloadUri(ctx: Ctx, name: string, version: string | number, opts: TeamOpt = {}): Promise<{ artifact_uri: string }> {
  const ref = await loadVersion(ctx, name, version, { mode: "read" }, opts);
  const [row] = await ctx.db.select({ location: modelVersions.storageLocation }).from(modelVersions).where(eq(modelVersions.id, ref.versionId));
  return { artifact_uri: row!.location };
}

const target = (ref: VersionRef) => `model:${ref.teamSlug}/${ref.name}/${ref.version}`;

async function change(ctx: Ctx, ref: VersionRef, action: string, apply: (tx: DbOrTx) => Promise<unknown>, details?: Record<string, unknown>): Promise<void> {
  const now = Date.now();
  await ctx.db.transaction(async (tx) => {
    await apply(tx);
    await tx.update(modelVersions).set({ lastUpdatedTime: now }).where(eq(modelVersions.id, ref.versionId));
    await tx.update(registeredModels).set({ lastUpdatedTime: now }).where(eq(registeredModels.id, ref.id));
    await appendAudit(tx, ctx, { action, target: target(ref), teamId: ref.teamId, team: ref.teamSlug, details });
  });
}

export async function updateModelVersion(ctx: Ctx, name: string, version: string | number, description: string, opts: TeamOpt = {}): Promise<ModelVersionDto> {
  const ref = await loadVersion(ctx, name, version, { ...REGISTER, action: "model_version.describe" }, opts);
  await change(ctx, ref, "model_version.describe", (tx) => tx.update(modelVersions).set({ description }).where(eq(modelVersions.id, ref.versionId)));
  return dtoOf(ctx, ref);
}

export async function setModelVersionTag(ctx: Ctx, name: string, version: string | number, key: string, value: string, opts: TeamOpt = {}): Promise<void> {
  const ref = await loadVersion(ctx, name, version, { ...REGISTER, action: "model_version.tag" }, opts);
  await change(ctx, ref, "model_version.tag", (tx) =>
    tx.insert(modelVersionTags).values({ versionId: ref.versionId, key, value }).onConflictDoUpdate({ target: [modelVersionTags.versionId, modelVersionTags.key], set: { value } }), { key });
  // The gateway's sampler reads sensitive columns from a cache: a change applies from the next request.
  if (key === SENSITIVE_TAG) forgetReference();
}

export async function deleteModelVersionTag(ctx: Ctx, name: string, version: string | number, key: string, opts: TeamOpt = {}): Promise<void> {
  const ref = await loadVersion(ctx, name, version, { ...REGISTER, action: "model_version.untag" }, opts);
  await change(ctx, ref, "model_version.untag", async (tx) => {
    const gone = await tx.delete(modelVersionTags).where(and(eq(modelVersionTags.versionId, ref.versionId), eq(modelVersionTags.key, key))).returning({ key: modelVersionTags.key });
    if (gone.length === 0) throw new AppError("not_found", `No tag with key '${key}' on model version ${name}/${ref.version}.`);
  }, { key });
  if (key === SENSITIVE_TAG) forgetReference();
}

/**
 * MLflow's legacy stages, kept as labels for compatibility. Any member may set any stage (Production
 * too); it never moves an alias and never deploys — production goes through the approval workflow.
 */
export async function transitionStage(
  ctx: Ctx,
  input: { name: string; version: string | number; stage: string; archive_existing_versions?: boolean } & TeamOpt,
): Promise<ModelVersionDto> {
  const stage = canonicalStage(input.stage);
  const ref = await loadVersion(ctx, input.name, input.version, { ...REGISTER, action: "model_version.stage" }, input);
  await change(ctx, ref, "model_version.stage", async (tx) => {
    await tx.update(modelVersions).set({ stage: stage as "None" }).where(eq(modelVersions.id, ref.versionId));
    if (input.archive_existing_versions && (stage === "Staging" || stage === "Production")) {
      await tx
        .update(modelVersions)
        .set({ stage: "Archived", lastUpdatedTime: Date.now() })
        .where(and(eq(modelVersions.modelId, ref.id), eq(modelVersions.stage, stage), ne(modelVersions.id, ref.versionId)));
    }
  }, { stage, archive_existing_versions: !!input.archive_existing_versions });
  return dtoOf(ctx, ref);
}

/** Deletes a version and any alias on it; a version a protected alias points at stays. */
export async function deleteModelVersion(ctx: Ctx, name: string, version: string | number, opts: TeamOpt = {}): Promise<void> {
  const ref = await loadVersion(ctx, name, version, { ...MANAGE, action: "model_version.delete" }, opts);
  const guarded = await protectedAliases(ctx.db, ref.teamId);
  const aliases = await ctx.db.select({ alias: modelAliases.alias }).from(modelAliases).where(and(eq(modelAliases.modelId, ref.id), eq(modelAliases.version, ref.version)));
  const held = aliases.find((a) => isProtected(a.alias, guarded));
  if (held) {
    throw await denied(ctx, {
      action: "model_version.delete", target: target(ref), teamId: ref.teamId, team: ref.teamSlug, mode: "write",
      message: `Version ${ref.version} of ${name} holds the protected alias '${held.alias}' and cannot be deleted; protected aliases move only through the production approval workflow.`,
    });
  }
  const now = Date.now();
  await ctx.db.transaction(async (tx) => {
    await assertNotDeployed(tx, ref.id, `Version ${ref.version} of ${name}`, ref.version);
    for (const a of aliases) {
      await tx.insert(modelAliasEvents).values({ modelId: ref.id, alias: a.alias, fromVersion: ref.version, toVersion: null, actor: actorLabel(ctx.actor), via: "version-deleted", time: now });
    }
    await tx.delete(modelAliases).where(and(eq(modelAliases.modelId, ref.id), eq(modelAliases.version, ref.version)));
    await tx.delete(modelVersions).where(eq(modelVersions.id, ref.versionId));
    await tx.update(registeredModels).set({ lastUpdatedTime: now }).where(eq(registeredModels.id, ref.id));
    await appendAudit(tx, ctx, { action: "model_version.delete", target: target(ref), teamId: ref.teamId, team: ref.teamSlug, details: { aliases_removed: aliases.map((a) => a.alias) } });
  });
  // No live deployment holds it (checked above), and stopped ones are never brought up again.
  await removePin(ref.versionId);
}

export type SearchVersionsInput = { filter?: string; max_results: number; order_by?: string[]; page_token?: string; team?: string };

export async function searchModelVersions(ctx: Ctx, input: SearchVersionsInput): Promise<{ model_versions: ModelVersionDto[]; next_page_token?: string }> {
  const teamIds = await searchScope(ctx, input.team);
  const where = and(
    teamIds ? (teamIds.length ? inArray(registeredModels.teamId, teamIds) : sql`false`) : undefined,
    compileRegistryFilter(
      input.filter,
      {
        name: { column: sql`${registeredModels.name}`, type: "string" },
        run_id: { column: sql`${modelVersions.runId}`, type: "string" },
        source_path: { column: sql`${modelVersions.source}`, type: "string" },
        source: { column: sql`${modelVersions.source}`, type: "string" },
        version_number: { column: sql`${modelVersions.version}`, type: "number" },
        current_stage: { column: sql`${modelVersions.stage}`, type: "string" },
        user_id: { column: sql`${modelVersions.userId}`, type: "string" },
      },
      (key, op, value) =>
        exists(ctx.db.select({ one: sql`1` }).from(modelVersionTags).where(and(eq(modelVersionTags.versionId, modelVersions.id), eq(modelVersionTags.key, key), comparison(sql`${modelVersionTags.value}`, op, value)))),
    ),
  );
  const order = compileRegistryOrder(input.order_by, {
    name: sql`${registeredModels.name}`,
    version_number: sql`${modelVersions.version}`,
    creation_timestamp: sql`${modelVersions.creationTime}`,
    last_updated_timestamp: sql`${modelVersions.lastUpdatedTime}`,
    timestamp: sql`${modelVersions.lastUpdatedTime}`,
  });
  const offset = decodeOffset(input.page_token);
  const ids = await ctx.db
    .select({ id: modelVersions.id })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(where)
    .orderBy(...order, asc(registeredModels.name), sql`${modelVersions.version} desc`)
    .limit(input.max_results + 1)
    .offset(offset);
  const page = ids.slice(0, input.max_results).map((r) => r.id);
  const rows = page.length ? await versionRows(ctx.db, inArray(modelVersions.id, page)) : [];
  const dtos = await versionDtos(ctx.db, rows.sort((a, b) => page.indexOf(a.id) - page.indexOf(b.id)));
  return { model_versions: dtos, ...(ids.length > input.max_results ? { next_page_token: encodeOffset(offset + input.max_results) } : {}) };
}

