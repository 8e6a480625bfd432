// Loading registry objects for an actor. Models are named per team, so a name is looked up in the
// teams the caller acts in: a token's team, the team the caller names, or every team they may read.
// Anything about another team's model is "not found", a write the actor's role does not allow in their
// own team is "forbidden"; both are audited.
import { and, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { modelVersions, registeredModels, registrySettings, teams } from "@/db/schema";
import { denied } from "../audit/record";
import type { Permission } from "../auth/policy";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { homeTeam } from "../tracking/access";

export type ModelRef = { id: string; teamId: string; teamSlug: string; name: string; lastVersion: number };
export type VersionRef = ModelRef & { versionId: string; version: number };
export type RegistryAccess = { mode: "read" } | { mode: "write"; permission: Permission; action: string };

/** Registering, describing, tagging, staging and (unprotected) aliases: every member. */
export const REGISTER = { mode: "write", permission: "train_model", action: "registry.update" } as const;
/** Renaming and deleting change what other people's `models:/` URIs point at. */
export const MANAGE = { mode: "write", permission: "write_data", action: "registry.delete" } as const;

export const DEFAULT_PROTECTED_ALIASES = ["production"];

export async function authorize(ctx: Ctx, team: { id: string; slug: string }, target: string, access: RegistryAccess, missing: string): Promise<void> {
  if (access.mode === "read") {
    if (!can(ctx.actor, "read_data", team.id)) throw await denied(ctx, { action: "registry.read", target, teamId: team.id, team: team.slug, mode: "read", message: missing });
    return;
  }
  if (!can(ctx.actor, access.permission, team.id)) {
    throw await denied(ctx, {
      action: access.action, target, teamId: team.id, team: team.slug, mode: "write",
      message: `Your role in team ${team.slug} does not allow this (${access.action.replace(/[._]/g, " ")} needs ${access.permission}).`,
      missing,
    });
  }
}

/** The teams a model name is looked up in. */
async function scopeTeamIds(ctx: Ctx, teamSlug?: string): Promise<string[] | undefined> {
  if (teamSlug || ctx.actor.kind === "token") return [(await homeTeam(ctx, teamSlug)).id];
  return readableTeamIds(ctx.actor);
}

export async function loadModel(ctx: Ctx, name: string, access: RegistryAccess, opts: { team?: string; db?: DbOrTx } = {}): Promise<ModelRef> {
  const db = opts.db ?? ctx.db;
  const missing = `Registered Model with name=${name} not found`;
  const teamIds = await scopeTeamIds(ctx, opts.team).catch((err: unknown) => {
    throw err instanceof AppError && err.code === "not_found" ? new AppError("not_found", missing) : err;
  });
  const rows = teamIds?.length === 0
    ? []
    : await db
        .select({ id: registeredModels.id, teamId: registeredModels.teamId, teamSlug: teams.slug, name: registeredModels.name, lastVersion: registeredModels.lastVersion })
        .from(registeredModels)
        .innerJoin(teams, eq(teams.id, registeredModels.teamId))
        .where(and(eq(registeredModels.name, name), teamIds ? inArray(registeredModels.teamId, teamIds) : undefined));
  if (rows.length > 1) {
    throw new AppError(
      "invalid_input",
      `Several of your teams have a model named '${name}' (${rows.map((r) => r.teamSlug).sort().join(", ")}). Say which team: pass team=<slug>, or use an API token scoped to one team.`,
    );
  }
  const row = rows[0];
  if (!row) throw new AppError("not_found", missing);
  await authorize(ctx, { id: row.teamId, slug: row.teamSlug }, `model:${row.teamSlug}/${name}`, access, missing);
  return row;
}

export function parseVersion(version: string | number): number {
  const n = typeof version === "number" ? version : /^\d{1,9}$/.test(version.trim()) ? Number(version.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new AppError("invalid_input", `Model version must be a positive whole number; got '${version}'.`);
  return n;
}

export async function loadVersion(ctx: Ctx, name: string, version: string | number, access: RegistryAccess, opts: { team?: string; db?: DbOrTx } = {}): Promise<VersionRef> {
  const n = parseVersion(version);
  const model = await loadModel(ctx, name, { mode: "read" }, opts);
  const [row] = await (opts.db ?? ctx.db)
    .select({ id: modelVersions.id })
    .from(modelVersions)
    .where(and(eq(modelVersions.modelId, model.id), eq(modelVersions.version, n)));
  const missing = `Model Version (name=${name}, version=${n}) not found`;
  if (!row) throw new AppError("not_found", missing);
  // A write is authorized (and a refusal audited) against the version, as its change would be.
  if (access.mode === "write") await authorize(ctx, { id: model.teamId, slug: model.teamSlug }, `model:${model.teamSlug}/${model.name}/${n}`, access, missing);
  return { ...model, versionId: row.id, version: n };
}

export async function protectedAliases(db: DbOrTx, teamId: string): Promise<string[]> {
  const [row] = await db.select({ aliases: registrySettings.protectedAliases }).from(registrySettings).where(eq(registrySettings.teamId, teamId));
  return row?.aliases ?? DEFAULT_PROTECTED_ALIASES;
}

export function isProtected(alias: string, protectedList: readonly string[]): boolean {
  return protectedList.some((p) => p.toLowerCase() === alias.toLowerCase());
}
