// Experiments: owned by a team, name unique per team, archive (delete) and restore, tags.
import { and, asc, desc, eq, ilike, inArray, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { experimentRunStats, experimentTags, experiments, runs, teams } from "@/db/schema";
import { appendAudit, denied } from "../audit/record";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError, isUniqueViolation } from "../errors";
import { homeTeam, loadExperiment } from "./access";
import type { ExperimentDto } from "./dto";
import { experimentArtifactLocation } from "./dto";

const WRITE = { mode: "write", permission: "train_model", action: "experiment.update" } as const;
const ARCHIVE = { mode: "write", permission: "write_data", action: "experiment.delete" } as const;

type ExperimentRow = typeof experiments.$inferSelect & { team: string };

async function toDtos(ctx: Ctx, rows: ExperimentRow[], withStats: boolean): Promise<ExperimentDto[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [tags, stats] = await Promise.all([
    ctx.db.select().from(experimentTags).where(inArray(experimentTags.experimentId, ids)).orderBy(asc(experimentTags.key)),
    // Counts kept by triggers on runs (migration 0036): one row an experiment, whatever its number of runs.
    withStats
      ? ctx.db
          .select({ id: experimentRunStats.experimentId, n: experimentRunStats.activeRuns, last: experimentRunStats.lastActivity })
          .from(experimentRunStats)
          .where(inArray(experimentRunStats.experimentId, ids))
      : Promise.resolve([]),
  ]);
  return rows.map((r) => {
    const found = stats.find((x) => x.id === r.id);
    // No active run: no run activity to report (as when the runs were counted here).
    const s = found && Number(found.n) > 0 ? found : undefined;
    return {
      experiment_id: String(r.id),
      name: r.name,
      artifact_location: r.artifactLocation,
      lifecycle_stage: r.lifecycleStage,
      creation_time: r.creationTime,
      last_update_time: r.lastUpdateTime,
      tags: tags.filter((t) => t.experimentId === r.id).map((t) => ({ key: t.key, value: t.value })),
      team: r.team,
      ...(r.description ? { description: r.description } : {}),
      ...(withStats ? { run_count: Number(s?.n ?? 0), last_activity_at: s?.last === undefined || s.last === null ? null : Math.max(Number(s.last), r.lastUpdateTime) } : {}),
    };
  });
}

async function rowsWhere(ctx: Ctx, where: SQL | undefined, order: SQL[] = [asc(experiments.id)], limit?: number, offset = 0): Promise<ExperimentRow[]> {
  const q = ctx.db
    .select({ exp: experiments, team: teams.slug })
    .from(experiments)
    .innerJoin(teams, eq(teams.id, experiments.teamId))
    .where(where)
    .orderBy(...order)
    .offset(offset);
  const rows = limit ? await q.limit(limit) : await q;
  return rows.map((r) => ({ ...r.exp, team: r.team }));
}

export async function createExperiment(
  ctx: Ctx,
  input: { name: string; tags?: { key: string; value: string }[]; description?: string; team?: string },
): Promise<{ experiment_id: string; name: string; team: string; created_at: string }> {
  const team = await homeTeam(ctx, input.team);
  if (!can(ctx.actor, "train_model", team.id)) {
    throw await denied(ctx, { action: "experiment.create", target: `experiment:${input.name}`, teamId: team.id, team: team.slug, mode: "write" });
  }
  const now = Date.now();
  const id = await ctx.db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: experiments.id }).from(experiments).where(and(eq(experiments.teamId, team.id), eq(experiments.name, input.name)));
    if (existing) throw new AppError("conflict", `Experiment '${input.name}' already exists in team ${team.slug}.`);
    const [row] = await tx
      .insert(experiments)
      .values({ teamId: team.id, name: input.name, description: input.description, artifactLocation: "pending", createdBy: ctx.actor.userId, creationTime: now, lastUpdateTime: now })
      .returning({ id: experiments.id });
    if (!row) throw new Error("experiment insert returned nothing");
    // The server chooses every artifact location; a client-supplied one is ignored.
    await tx.update(experiments).set({ artifactLocation: experimentArtifactLocation(row.id) }).where(eq(experiments.id, row.id));
    if (input.tags?.length) await tx.insert(experimentTags).values(dedupe(input.tags).map((t) => ({ experimentId: row.id, ...t })));
    await appendAudit(tx, ctx, { action: "experiment.create", target: `experiment:${row.id}`, teamId: team.id, team: team.slug, details: { name: input.name } });
    return row.id;
  }).catch((err: unknown) => {
    // A concurrent create of the same name passes the check above and then hits the unique index.
    throw isUniqueViolation(err, NAME_UNIQUE) ? new AppError("conflict", `Experiment '${input.name}' already exists in team ${team.slug}.`) : err;
  });
  return { experiment_id: String(id), name: input.name, team: team.slug, created_at: new Date(now).toISOString() };
}

const NAME_UNIQUE = "experiments_team_name_uq";


function dedupe<T extends { key: string }>(items: T[]): T[] {
  return [...new Map(items.map((i) => [i.key, i])).values()];
}

export async function getExperiment(ctx: Ctx, experimentId: string): Promise<ExperimentDto> {
  const ref = await loadExperiment(ctx, experimentId, { mode: "read" });
  const [dto] = await toDtos(ctx, await rowsWhere(ctx, eq(experiments.id, ref.id)), true);
  return dto!;
}

/** By name within the caller's team (the token's team, or the named one). */
export async function getExperimentByName(ctx: Ctx, name: string, teamSlug?: string): Promise<ExperimentDto> {
  const team = await homeTeam(ctx, teamSlug).catch(() => null);
  const rows = team ? await rowsWhere(ctx, and(eq(experiments.teamId, team.id), eq(experiments.name, name))) : [];
  if (!rows[0]) throw new AppError("not_found", `Could not find experiment with name '${name}'`);
  const [dto] = await toDtos(ctx, rows, true);
  return dto!;
}

export type SearchExperimentsInput = {
  max_results: number;
  filter?: string;
  page_token?: string;
  view_type: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
  team?: string;
  q?: string;
  order_by?: string[];
};

/** Experiments of the teams the actor may read. Supports MLflow's `name LIKE '…'` / `name = '…'` filters. */
export async function searchExperiments(ctx: Ctx, input: SearchExperimentsInput): Promise<{ experiments: ExperimentDto[]; next_page_token?: string }> {
  const teamIds = readableTeamIds(ctx.actor);
  const conditions: (SQL | undefined)[] = [];
  if (teamIds) conditions.push(teamIds.length ? inArray(experiments.teamId, teamIds) : sql`false`);
  if (input.team) {
    const team = await homeTeam(ctx, input.team);
    conditions.push(eq(experiments.teamId, team.id));
  }
  if (input.view_type !== "ALL") conditions.push(eq(experiments.lifecycleStage, input.view_type === "ACTIVE_ONLY" ? "active" : "deleted"));
  if (input.q) conditions.push(ilike(experiments.name, `%${input.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
  if (input.filter?.trim()) conditions.push(experimentFilter(input.filter.trim()));
  const offset = decodeOffset(input.page_token);
  const order = (input.order_by ?? []).map(experimentOrder);
  const rows = await rowsWhere(ctx, and(...conditions), [...order, desc(experiments.lastUpdateTime), desc(experiments.id)], input.max_results + 1, offset);
  const page = rows.slice(0, input.max_results);
  return {
    experiments: await toDtos(ctx, page, true),
    ...(rows.length > input.max_results ? { next_page_token: encodeOffset(offset + input.max_results) } : {}),
  };
}

function experimentFilter(filter: string): SQL {
  const m = /^(?:attributes\.)?name\s*(=|!=|LIKE|ILIKE)\s*'((?:[^']|'')*)'$/i.exec(filter);
  if (!m) throw new AppError("invalid_input", `Unsupported experiment filter "${filter}". Use name = '…', name LIKE '…' or name ILIKE '…'.`);
  const value = m[2]!.replace(/''/g, "'");
  switch (m[1]!.toUpperCase()) {
    case "=": return eq(experiments.name, value);
    case "!=": return sql`${experiments.name} <> ${value}`;
    case "LIKE": return sql`${experiments.name} like ${value}`;
    default: return sql`${experiments.name} ilike ${value}`;
  }
}

function experimentOrder(clause: string): SQL {
  const m = /^(?:attributes\.)?(name|experiment_id|creation_time|last_update_time)(?:\s+(ASC|DESC))?$/i.exec(clause.trim());
  if (!m) throw new AppError("invalid_input", `Invalid order_by clause "${clause}". Order by name, experiment_id, creation_time or last_update_time, optionally ASC or DESC.`);
  const column = { name: experiments.name, experiment_id: experiments.id, creation_time: experiments.creationTime, last_update_time: experiments.lastUpdateTime }[m[1]!.toLowerCase() as "name"];
  return m[2]?.toUpperCase() === "DESC" ? desc(column) : asc(column);
}

export function encodeOffset(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64url");
}

export function decodeOffset(token: string | undefined): number {
  if (!token) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { offset: unknown };
    if (typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through
  }
  throw new AppError("invalid_input", "Invalid page_token; pass the next_page_token of a previous answer.");
}

export async function renameExperiment(ctx: Ctx, experimentId: string, newName: string): Promise<void> {
  const ref = await loadExperiment(ctx, experimentId, WRITE);
  await ctx.db.transaction(async (tx) => {
    const [clash] = await tx.select({ id: experiments.id }).from(experiments).where(and(eq(experiments.teamId, ref.teamId), eq(experiments.name, newName)));
    if (clash && clash.id !== ref.id) throw new AppError("conflict", `Experiment '${newName}' already exists in team ${ref.teamSlug}.`);
    await tx.update(experiments).set({ name: newName, lastUpdateTime: Date.now() }).where(eq(experiments.id, ref.id));
    await appendAudit(tx, ctx, { action: "experiment.rename", target: `experiment:${ref.id}`, teamId: ref.teamId, team: ref.teamSlug, details: { from: ref.name, to: newName } });
  }).catch((err: unknown) => {
    throw isUniqueViolation(err, NAME_UNIQUE) ? new AppError("conflict", `Experiment '${newName}' already exists in team ${ref.teamSlug}.`) : err;
  });
}

export async function setExperimentDescription(ctx: Ctx, experimentId: string, description: string): Promise<void> {
  const ref = await loadExperiment(ctx, experimentId, WRITE);
  await ctx.db.transaction(async (tx) => {
    await tx.update(experiments).set({ description, lastUpdateTime: Date.now() }).where(eq(experiments.id, ref.id));
    await appendAudit(tx, ctx, { action: "experiment.describe", target: `experiment:${ref.id}`, teamId: ref.teamId, team: ref.teamSlug });
  });
}

/** MLflow's delete archives: the experiment and its runs move to the deleted lifecycle stage. */
export async function setExperimentLifecycle(ctx: Ctx, experimentId: string, stage: "active" | "deleted"): Promise<void> {
  const ref = await loadExperiment(ctx, experimentId, { ...ARCHIVE, action: stage === "deleted" ? "experiment.delete" : "experiment.restore" });
  if (ref.lifecycleStage === stage) {
    throw new AppError("invalid_input", `Experiment ${ref.id} is already ${stage === "deleted" ? "deleted" : "active"}.`);
  }
  const now = Date.now();
  await ctx.db.transaction(async (tx) => {
    // The lock order of runs/create (run-create-batch.ts): the experiment's counts row first (locked even when the
    // experiment has no run yet), then its runs, then the experiment row. A create racing this either committed
    // before the runs update (and its run is deleted with the others) or waits and finds the experiment deleted.
    await tx.execute(sql`insert into experiment_run_stats as s (experiment_id) values (${ref.id})
      on conflict (experiment_id) do update set active_runs = s.active_runs where false`);
    await tx.update(runs).set({ lifecycleStage: stage, deletedTime: stage === "deleted" ? now : null }).where(eq(runs.experimentId, ref.id));
    await tx.update(experiments).set({ lifecycleStage: stage, lastUpdateTime: now }).where(eq(experiments.id, ref.id));
    await appendAudit(tx, ctx, { action: stage === "deleted" ? "experiment.delete" : "experiment.restore", target: `experiment:${ref.id}`, teamId: ref.teamId, team: ref.teamSlug });
  });
}

export async function setExperimentTag(ctx: Ctx, experimentId: string, key: string, value: string): Promise<void> {
  const ref = await loadExperiment(ctx, experimentId, WRITE);
  await ctx.db
    .insert(experimentTags)
    .values({ experimentId: ref.id, key, value })
    .onConflictDoUpdate({ target: [experimentTags.experimentId, experimentTags.key], set: { value } });
}

export async function deleteExperimentTag(ctx: Ctx, experimentId: string, key: string): Promise<void> {
  const ref = await loadExperiment(ctx, experimentId, WRITE);
  const deleted = await ctx.db.delete(experimentTags).where(and(eq(experimentTags.experimentId, ref.id), eq(experimentTags.key, key))).returning({ key: experimentTags.key });
  if (deleted.length === 0) throw new AppError("not_found", `No tag with name: ${key} in experiment ${ref.id}.`);
}
