// Aliases (champion, production, …): a name for one version of a model, with the history of every move.
// A protected alias (default: production; per team) is refused here: only the production approval
// workflow moves it.
import { and, desc, eq } from "drizzle-orm";
import { modelAliasEvents, modelAliases, modelVersions } from "@/db/schema";
import { actorLabel } from "../auth/actor";
import { appendAudit, denied } from "../audit/record";
import type { Ctx } from "../context";
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
  const now = Date.now();
  const who = actorLabel(ctx.actor);
  await ctx.db.transaction(async (tx) => {
    const [prior] = await tx.select({ version: modelAliases.version }).from(modelAliases).where(and(eq(modelAliases.modelId, ref.id), eq(modelAliases.alias, alias))).for("update");
    if (prior?.version === ref.version) return;
    await tx
      .insert(modelAliases)
      .values({ modelId: ref.id, alias, version: ref.version, updatedBy: who, updatedTime: now })
      .onConflictDoUpdate({ target: [modelAliases.modelId, modelAliases.alias], set: { version: ref.version, updatedBy: who, updatedTime: now } });
    await tx.insert(modelAliasEvents).values({ modelId: ref.id, alias, fromVersion: prior?.version ?? null, toVersion: ref.version, actor: who, via: "api", time: now });
    await appendAudit(tx, ctx, {
      action: "model_alias.set", target: `model:${ref.teamSlug}/${ref.name}@${alias}`, teamId: ref.teamId, team: ref.teamSlug,
      details: { from: prior?.version ?? null, to: ref.version },
    });
  });
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
