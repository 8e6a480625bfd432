// Registered models: owned by a team, name unique per team, markdown description, tags.
import { and, asc, eq, exists, inArray, sql } from "drizzle-orm";
import { modelAliases, modelVersions, registeredModelTags, registeredModels, registrySettings } from "@/db/schema";
import { appendAudit, denied } from "../audit/record";
import { assertNotDeployed } from "../deployments/where";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError, isUniqueViolation } from "../errors";
import { homeTeam } from "../tracking/access";
import { decodeOffset, encodeOffset } from "../tracking/experiments";
import type { KeyValue } from "../tracking/dto";
import { DEFAULT_PROTECTED_ALIASES, MANAGE, REGISTER, authorize, isProtected, loadModel, protectedAliases } from "./access";
import type { ModelRef } from "./access";
import { removePin } from "./pins";
import type { ModelVersionDto, RegisteredModelDto } from "./dto";
import { latestPerStage, modelDtos, modelRows, versionDtos, versionRows } from "./dto";
import { comparison, compileRegistryFilter, compileRegistryOrder } from "./filter";
import { forgetReference, SENSITIVE_TAG } from "../drift/reference";

type TeamOpt = { team?: string };

const NAME_UNIQUE = "registered_models_team_name_uq";


const exists409 = (name: string, team: string) => new AppError("conflict", `Registered Model (name=${name}) already exists in team ${team}.`);

export async function createRegisteredModel(ctx: Ctx, input: { name: string; description?: string; tags?: KeyValue[] } & TeamOpt): Promise<RegisteredModelDto> {
  const team = await homeTeam(ctx, input.team);
  await authorize(ctx, team, `model:${team.slug}/${input.name}`, { ...REGISTER, action: "model.create" }, `Team "${team.slug}" was not found.`);
  const now = Date.now();
  await ctx.db.transaction(async (tx) => {
    const [clash] = await tx.select({ id: registeredModels.id }).from(registeredModels).where(and(eq(registeredModels.teamId, team.id), eq(registeredModels.name, input.name)));
    if (clash) throw exists409(input.name, team.slug);
    const [row] = await tx
      .insert(registeredModels)
      .values({ teamId: team.id, name: input.name, description: input.description ?? "", createdBy: ctx.actor.userId, creationTime: now, lastUpdatedTime: now })
      .returning({ id: registeredModels.id });
    const tags = dedupe(input.tags ?? []);
    if (tags.length) await tx.insert(registeredModelTags).values(tags.map((t) => ({ modelId: row!.id, ...t })));
    await appendAudit(tx, ctx, { action: "model.create", target: `model:${team.slug}/${input.name}`, teamId: team.id, team: team.slug });
  }).catch((err: unknown) => {
    throw isUniqueViolation(err, NAME_UNIQUE) ? exists409(input.name, team.slug) : err;
  });
  return getRegisteredModel(ctx, input.name, { team: team.slug });
}

export function dedupe(items: KeyValue[]): KeyValue[] {
  return [...new Map(items.map((i) => [i.key, i])).values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function getRegisteredModel(ctx: Ctx, name: string, opts: TeamOpt = {}): Promise<RegisteredModelDto> {
  const ref = await loadModel(ctx, name, { mode: "read" }, opts);
  const [dto] = await modelDtos(ctx.db, await modelRows(ctx.db, eq(registeredModels.id, ref.id)));
  return dto!;
}

const touch = (ref: ModelRef) => sql`update ${registeredModels} set last_updated_time = ${Date.now()} where id = ${ref.id}`;

export async function renameRegisteredModel(ctx: Ctx, name: string, newName: string, opts: TeamOpt = {}): Promise<RegisteredModelDto> {
  const ref = await loadModel(ctx, name, { ...MANAGE, action: "model.rename" }, opts);
  if (newName !== name) {
    await ctx.db.transaction(async (tx) => {
      const [clash] = await tx.select({ id: registeredModels.id }).from(registeredModels).where(and(eq(registeredModels.teamId, ref.teamId), eq(registeredModels.name, newName)));
      if (clash) throw exists409(newName, ref.teamSlug);
      await tx.update(registeredModels).set({ name: newName, lastUpdatedTime: Date.now() }).where(eq(registeredModels.id, ref.id));
      await appendAudit(tx, ctx, { action: "model.rename", target: `model:${ref.teamSlug}/${name}`, teamId: ref.teamId, team: ref.teamSlug, details: { from: name, to: newName } });
    }).catch((err: unknown) => {
      throw isUniqueViolation(err, NAME_UNIQUE) ? exists409(newName, ref.teamSlug) : err;
    });
  }
  return getRegisteredModel(ctx, newName, { team: ref.teamSlug });
}

export async function updateRegisteredModel(ctx: Ctx, name: string, description: string, opts: TeamOpt = {}): Promise<RegisteredModelDto> {
  const ref = await loadModel(ctx, name, { ...REGISTER, action: "model.describe" }, opts);
  await ctx.db.transaction(async (tx) => {
    await tx.update(registeredModels).set({ description, lastUpdatedTime: Date.now() }).where(eq(registeredModels.id, ref.id));
    await appendAudit(tx, ctx, { action: "model.describe", target: `model:${ref.teamSlug}/${name}`, teamId: ref.teamId, team: ref.teamSlug });
  });
  return getRegisteredModel(ctx, name, { team: ref.teamSlug });
}

export async function deleteRegisteredModel(ctx: Ctx, name: string, opts: TeamOpt = {}): Promise<void> {
  const ref = await loadModel(ctx, name, { ...MANAGE, action: "model.delete" }, opts);
  const guarded = await protectedAliases(ctx.db, ref.teamId);
  const held = (await ctx.db.select({ alias: modelAliases.alias, version: modelAliases.version }).from(modelAliases).where(eq(modelAliases.modelId, ref.id)))
    .filter((a) => isProtected(a.alias, guarded));
  if (held.length) {
    throw await denied(ctx, {
      action: "model.delete", target: `model:${ref.teamSlug}/${name}`, teamId: ref.teamId, team: ref.teamSlug, mode: "write",
      message: `Model ${name} cannot be deleted while its protected alias '${held[0]!.alias}' points at version ${held[0]!.version}; protected aliases change only through the production approval workflow.`,
    });
  }
  const versionIds = await ctx.db.transaction(async (tx) => {
    await assertNotDeployed(tx, ref.id, `Model ${name}`);
    const versions = await tx.delete(modelVersions).where(eq(modelVersions.modelId, ref.id)).returning({ id: modelVersions.id });
    await tx.delete(registeredModels).where(eq(registeredModels.id, ref.id));
    await appendAudit(tx, ctx, { action: "model.delete", target: `model:${ref.teamSlug}/${name}`, teamId: ref.teamId, team: ref.teamSlug, details: { versions: ref.lastVersion } });
    return versions.map((v) => v.id);
  });
  for (const id of versionIds) await removePin(id);
}

export async function setRegisteredModelTag(ctx: Ctx, name: string, key: string, value: string, opts: TeamOpt = {}): Promise<void> {
  const ref = await loadModel(ctx, name, { ...REGISTER, action: "model.tag" }, opts);
  await ctx.db.transaction(async (tx) => {
    await tx.insert(registeredModelTags).values({ modelId: ref.id, key, value }).onConflictDoUpdate({ target: [registeredModelTags.modelId, registeredModelTags.key], set: { value } });
    await tx.execute(touch(ref));
    await appendAudit(tx, ctx, { action: "model.tag", target: `model:${ref.teamSlug}/${name}`, teamId: ref.teamId, team: ref.teamSlug, details: { key } });
  });
  // The gateway's sampler reads sensitive columns from a cache: a change applies from the next request.
  if (key === SENSITIVE_TAG) forgetReference();
}

export async function deleteRegisteredModelTag(ctx: Ctx, name: string, key: string, opts: TeamOpt = {}): Promise<void> {
  const ref = await loadModel(ctx, name, { ...REGISTER, action: "model.untag" }, opts);
  await ctx.db.transaction(async (tx) => {
    const gone = await tx.delete(registeredModelTags).where(and(eq(registeredModelTags.modelId, ref.id), eq(registeredModelTags.key, key))).returning({ key: registeredModelTags.key });
    if (gone.length === 0) throw new AppError("not_found", `No tag with key '${key}' on registered model ${name}.`);
    await tx.execute(touch(ref));
    await appendAudit(tx, ctx, { action: "model.untag", target: `model:${ref.teamSlug}/${name}`, teamId: ref.teamId, team: ref.teamSlug, details: { key } });
  });
  if (key === SENSITIVE_TAG) forgetReference();
}

export type SearchInput = { filter?: string; max_results: number; order_by?: string[]; page_token?: string; team?: string; q?: string };

/** The teams a search covers: the named team, a token's team, or every team the actor may read. */
export async function searchScope(ctx: Ctx, team?: string): Promise<string[] | undefined> {
  if (team || ctx.actor.kind === "token") return [(await homeTeam(ctx, team)).id];
  return readableTeamIds(ctx.actor);
}

export async function searchRegisteredModels(ctx: Ctx, input: SearchInput): Promise<{ registered_models: RegisteredModelDto[]; next_page_token?: string }> {
  const teamIds = await searchScope(ctx, input.team);
  const where = and(
    teamIds ? (teamIds.length ? inArray(registeredModels.teamId, teamIds) : sql`false`) : undefined,
    compileRegistryFilter(input.filter, { name: { column: sql`${registeredModels.name}`, type: "string" } }, (key, op, value) =>
      exists(ctx.db.select({ one: sql`1` }).from(registeredModelTags).where(and(eq(registeredModelTags.modelId, registeredModels.id), eq(registeredModelTags.key, key), comparison(sql`${registeredModelTags.value}`, op, value))))),
    input.q ? sql`${registeredModels.name} ilike ${`%${input.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}` : undefined,
  );
  const order = compileRegistryOrder(input.order_by, {
    name: sql`${registeredModels.name}`,
    timestamp: sql`${registeredModels.lastUpdatedTime}`,
    last_updated_timestamp: sql`${registeredModels.lastUpdatedTime}`,
    creation_timestamp: sql`${registeredModels.creationTime}`,
  });
  const offset = decodeOffset(input.page_token);
  const ids = await ctx.db
    .select({ id: registeredModels.id })
    .from(registeredModels)
    .where(where)
    .orderBy(...order, asc(registeredModels.name), asc(registeredModels.id))
    .limit(input.max_results + 1)
    .offset(offset);
  const page = ids.slice(0, input.max_results).map((r) => r.id);
  const rows = page.length ? await modelRows(ctx.db, inArray(registeredModels.id, page)) : [];
  const dtos = await modelDtos(ctx.db, rows.sort((a, b) => page.indexOf(a.id) - page.indexOf(b.id)));
  return { registered_models: dtos, ...(ids.length > input.max_results ? { next_page_token: encodeOffset(offset + input.max_results) } : {}) };
}

export const STAGES: Record<string, string> = { none: "None", staging: "Staging", production: "Production", archived: "Archived" };

export function canonicalStage(stage: string): string {
  const canonical = STAGES[stage.trim().toLowerCase()];
  if (!canonical) throw new AppError("invalid_input", `Invalid Model Version stage: ${stage}. Value must be one of None, Staging, Production, Archived.`);
  return canonical;
}

/** MLflow's get-latest-versions: the newest version per stage (all stages when none are named). */
export async function getLatestVersions(ctx: Ctx, name: string, stages: string[] = [], opts: TeamOpt = {}): Promise<ModelVersionDto[]> {
  const ref = await loadModel(ctx, name, { mode: "read" }, opts);
  const wanted = new Set(stages.map(canonicalStage));
  const all = await versionDtos(ctx.db, await versionRows(ctx.db, eq(modelVersions.modelId, ref.id)));
  return latestPerStage(all.filter((v) => wanted.size === 0 || wanted.has(v.current_stage)));
}

/** The aliases only the production approval workflow may move, per team (default: production). */
export async function getProtectedAliases(ctx: Ctx, teamSlug?: string): Promise<{ team: string; protected_aliases: string[] }> {
  const team = await homeTeam(ctx, teamSlug);
  await authorize(ctx, team, `team:${team.slug}`, { mode: "read" }, `Team "${team.slug}" was not found.`);
  return { team: team.slug, protected_aliases: await protectedAliases(ctx.db, team.id) };
}

export async function setProtectedAliases(ctx: Ctx, aliases: string[], teamSlug?: string): Promise<{ team: string; protected_aliases: string[] }> {
  const team = await homeTeam(ctx, teamSlug);
  if (!can(ctx.actor, "manage_team", team.id)) {
    throw await denied(ctx, { action: "registry.protect", target: `team:${team.slug}`, teamId: team.id, team: team.slug, mode: "write", message: `Only team leads of ${team.slug} and admins choose protected aliases.` });
  }
  // production is always protected: otherwise a lead could unprotect it, move it and bypass the approval workflow.
  const list = [...new Set([...DEFAULT_PROTECTED_ALIASES, ...aliases.map((a) => a.trim()).filter(Boolean)])].sort();
  await ctx.db.transaction(async (tx) => {
    await tx.insert(registrySettings).values({ teamId: team.id, protectedAliases: list }).onConflictDoUpdate({ target: registrySettings.teamId, set: { protectedAliases: list } });
    await appendAudit(tx, ctx, { action: "registry.protect", target: `team:${team.slug}`, teamId: team.id, team: team.slug, details: { protected_aliases: list } });
  });
  return { team: team.slug, protected_aliases: list };
}

