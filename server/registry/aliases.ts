// Aliases (champion, production, …): a name for one version of a model, with the history of every move.
// A protected alias (default: production; per team) is refused here: only the production approval
// workflow moves it.
import { and, desc, eq } from "drizzle-orm";
import { modelAliasEvents, modelAliases, modelVersions } from "@/db/schema";
import { actorLabel } from "../auth/actor";
import { appendAudit, denied } from "../audit/record";
import type { DbOrTx } from "@/db/client";
import type { Ctx, TxCtx } from "../context";
import { AppError } from "../errors";
import { REGISTER, isProtected, loadModel, loadVersion, protectedAliases } from "./access";
import type { ModelRef } from "./access";
import type { ModelVersionDto } from "./dto";
import { getModelVersion } from "./versions";

type TeamOpt = { team?: string };

/** MLflow's alias rules: letters, digits, '_' and '-', not "latest" and not shaped like a version ("v3"). */
export function validateAlias(alias: string): string {
  const a = alias.trim();
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(a)) {
    throw new AppError("invalid_input", `Invalid alias '${alias}': use 1–255 letters, digits, '_' or '-'.`);
  }
  if (a.toLowerCase() === "latest" || /^v\d+$/i.test(a)) {
    throw new AppError("invalid_input", `'${a}' is reserved (it would be confused with a version reference); choose another alias.`);
  }
  return a;
}

async function refuseProtected(ctx: Ctx, ref: ModelRef, alias: string, verb: "moved" | "removed"): Promise<void> {
  if (!isProtected(alias, await protectedAliases(ctx.db, ref.teamId))) return;
  throw await denied(ctx, {
    action: verb === "moved" ? "model_alias.set" : "model_alias.delete",
    target: `model:${ref.teamSlug}/${ref.name}@${alias}`, teamId: ref.teamId, team: ref.teamSlug, mode: "write",
    message: `The alias '${alias}' is protected in team ${ref.teamSlug}: it moves only through the production approval workflow and cannot be ${verb} directly. Request a production deployment; the alias moves when a team lead approves it.`,
  });
}

export async function setAlias(ctx: Ctx, input: { name: string; alias: string; version: string | number } & TeamOpt): Promise<void> {
  const alias = validateAlias(input.alias);
  const ref = await loadVersion(ctx, input.name, input.version, { ...REGISTER, action: "model_alias.set" }, input);
  await refuseProtected(ctx, ref, alias, "moved");
  await ctx.db.transaction((tx) => moveAlias(tx, ctx, { id: ref.id, name: ref.name, teamId: ref.teamId, teamSlug: ref.teamSlug }, alias, ref.version, { who: actorLabel(ctx.actor), via: "api" }));
}

/**
 * Points `alias` of a model at `version` inside the caller's transaction: the alias row, a history entry
 * and an audit row; nothing when it already points there. The caller decides whether the move is allowed
 * (setAlias refuses protected aliases; the deployments runtime moves production when it serves).
 * Returns the version it pointed at before, or undefined when nothing moved.
 */
export async function moveAlias(
  tx: DbOrTx, ctx: Omit<TxCtx, "db">, model: { id: string; name: string; teamId: string; teamSlug: string }, alias: string, version: number,
  how: { who: string; via: string; details?: Record<string, unknown> },
): Promise<number | null | undefined> {
  const now = Date.now();
  const [prior] = await tx.select({ version: modelAliases.version }).from(modelAliases).where(and(eq(modelAliases.modelId, model.id), eq(modelAliases.alias, alias))).for("update");
  if (prior?.version === version) return undefined;
  await tx
    .insert(modelAliases)
    .values({ modelId: model.id, alias, version, updatedBy: how.who, updatedTime: now })
    .onConflictDoUpdate({ target: [modelAliases.modelId, modelAliases.alias], set: { version, updatedBy: how.who, updatedTime: now } });
  await tx.insert(modelAliasEvents).values({ modelId: model.id, alias, fromVersion: prior?.version ?? null, toVersion: version, actor: how.who, via: how.via, time: now });
  await appendAudit(tx, ctx, {
    action: "model_alias.set", target: `model:${model.teamSlug}/${model.name}@${alias}`, teamId: model.teamId, team: model.teamSlug,
    details: { from: prior?.version ?? null, to: version, ...how.details },
  });
  return prior?.version ?? null;
}

export async function deleteAlias(ctx: Ctx, input: { name: string; alias: string } & TeamOpt): Promise<void> {
  const ref = await loadModel(ctx, input.name, { ...REGISTER, action: "model_alias.delete" }, input);
  const alias = input.alias.trim();
  await refuseProtected(ctx, ref, alias, "removed");
  const now = Date.now();
  await ctx.db.transaction(async (tx) => {
    const [gone] = await tx.delete(modelAliases).where(and(eq(modelAliases.modelId, ref.id), eq(modelAliases.alias, alias))).returning({ version: modelAliases.version });
    if (!gone) throw new AppError("not_found", `Registered model alias ${alias} not found on model ${ref.name}.`);
    await tx.insert(modelAliasEvents).values({ modelId: ref.id, alias, fromVersion: gone.version, toVersion: null, actor: actorLabel(ctx.actor), via: "api", time: now });
    await appendAudit(tx, ctx, { action: "model_alias.delete", target: `model:${ref.teamSlug}/${ref.name}@${alias}`, teamId: ref.teamId, team: ref.teamSlug, details: { from: gone.version } });
  });
}

export async function getVersionByAlias(ctx: Ctx, input: { name: string; alias: string } & TeamOpt): Promise<ModelVersionDto> {
  const ref = await loadModel(ctx, input.name, { mode: "read" }, input);
  const [row] = await ctx.db
    .select({ version: modelAliases.version })
    .from(modelAliases)
    .innerJoin(modelVersions, and(eq(modelVersions.modelId, modelAliases.modelId), eq(modelVersions.version, modelAliases.version)))
    .where(and(eq(modelAliases.modelId, ref.id), eq(modelAliases.alias, input.alias.trim())));
  if (!row) throw new AppError("not_found", `Registered model alias ${input.alias} not found.`);
  return getModelVersion(ctx, ref.name, row.version, { team: ref.teamSlug });
}

export type AliasEvent = { alias: string; from_version: number | null; to_version: number | null; actor: string; via: string; time: number };

/** Every move of every alias of a model, newest first. */
export async function aliasHistory(ctx: Ctx, name: string, opts: TeamOpt = {}): Promise<AliasEvent[]> {
  const ref = await loadModel(ctx, name, { mode: "read" }, opts);
  const rows = await ctx.db.select().from(modelAliasEvents).where(eq(modelAliasEvents.modelId, ref.id)).orderBy(desc(modelAliasEvents.id)).limit(500);
  return rows.map((r) => ({ alias: r.alias, from_version: r.fromVersion, to_version: r.toVersion, actor: r.actor, via: r.via, time: r.time }));
}
