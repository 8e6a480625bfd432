// Loading tracking objects for an actor: anything about another team's object is "not found", a write
// the actor's role does not allow in their own team is "forbidden"; both are audited. Every lookup is scoped by the object's team.
import { and, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { experiments, runs, teams } from "@/db/schema";
import type { LifecycleStage, RunStatus } from "@/db/schema";
import { denied } from "../audit/record";
import type { Permission } from "../auth/policy";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { findTeamBySlug } from "../teams/lookup";
import { rememberExperiment, rememberedExperiment } from "./experiment-refs";

export type ExperimentRef = { id: number; teamId: string; teamSlug: string; name: string; lifecycleStage: LifecycleStage };
export type RunRef = ExperimentRef & { runId: string; experimentId: number; status: RunStatus; runLifecycle: LifecycleStage; artifactUri: string };

export type Access = { mode: "read" } | { mode: "write"; permission: Permission; action: string };

async function check(ctx: Ctx, teamId: string, teamSlug: string, target: string, access: Access, missing: string): Promise<void> {
  if (access.mode === "read") {
    if (!can(ctx.actor, "read_data", teamId)) throw await denied(ctx, { action: "tracking.read", target, teamId, team: teamSlug, mode: "read", message: missing });
    return;
  }
  if (!can(ctx.actor, access.permission, teamId)) {
    throw await denied(ctx, {
      action: access.action, target, teamId, team: teamSlug, mode: "write",
      message: `Your role in team ${teamSlug} does not allow this (${access.action.replace(/[._]/g, " ")} needs ${access.permission}).`,
      missing,
    });
  }
}

export const DEFAULT_EXPERIMENT = "Default";

export async function loadExperiment(ctx: Ctx, experimentId: string | number, access: Access, db: DbOrTx = ctx.db): Promise<ExperimentRef> {
  return (await loadExperiments(ctx, [String(experimentId)], access, db))[0]!;
}

/**
 * Experiments by id (a search names up to 100) in one statement, in the order given; MLflow's experiment "0" is the
 * caller's team's Default experiment (created by its first run). The first id, in that order, that is missing or
 * another team's is "not found".
 */
export async function loadExperiments(ctx: Ctx, experimentIds: readonly string[], access: Access, db: DbOrTx = ctx.db): Promise<ExperimentRef[]> {
  const defaultId = experimentIds.some((id) => Number(id) === 0) ? await defaultExperimentOf(ctx, db) : Number.NaN;
  const ids = experimentIds.map((id) => (Number(id) === 0 ? defaultId : Number(id)));
  const wanted = [...new Set(ids.filter(Number.isSafeInteger))];
  const rows = wanted.length > 0
    ? await db
        .select({ id: experiments.id, teamId: experiments.teamId, teamSlug: teams.slug, name: experiments.name, lifecycleStage: experiments.lifecycleStage })
        .from(experiments)
        .innerJoin(teams, eq(teams.id, experiments.teamId))
        .where(inArray(experiments.id, wanted))
    : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const refs: ExperimentRef[] = [];
  for (const [i, asked] of experimentIds.entries()) {
    const missing = `Could not find experiment with ID ${asked}`;
    const row = byId.get(ids[i]!);
    if (!row) throw new AppError("not_found", missing);
    await check(ctx, row.teamId, row.teamSlug, `experiment:${row.id}`, access, missing);
    refs.push(row);
  }
  return refs;
}

/**
 * loadExperiment for runs/create: the experiment remembered from an earlier create when there is one
 * (experiment-refs.ts; the write checks it again), else read and remembered. The actor's permission is checked
 * either way.
 */
export async function loadExperimentToCreateIn(ctx: Ctx, experimentId: number, access: Access): Promise<ExperimentRef> {
  const remembered = rememberedExperiment(experimentId);
  if (!remembered) {
    const ref = await loadExperiment(ctx, experimentId, access);
    rememberExperiment(ref);
    return ref;
  }
  await check(ctx, remembered.teamId, remembered.teamSlug, `experiment:${experimentId}`, access, `Could not find experiment with ID ${experimentId}`);
  return remembered;
}

async function defaultExperimentOf(ctx: Ctx, db: DbOrTx): Promise<number> {
  const team = await homeTeam(ctx).catch(() => null);
  const [row] = team
    ? await db.select({ id: experiments.id }).from(experiments).where(and(eq(experiments.teamId, team.id), eq(experiments.name, DEFAULT_EXPERIMENT)))
    : [];
  return row?.id ?? Number.NaN;
}

export async function loadRun(ctx: Ctx, runId: string, access: Access, db: DbOrTx = ctx.db): Promise<RunRef> {
  const missing = `Run with id=${runId} not found`;
  const [row] = /^[0-9a-f]{32}$/.test(runId)
    ? await db
        .select({
          runId: runs.id, experimentId: runs.experimentId, status: runs.status, runLifecycle: runs.lifecycleStage, artifactUri: runs.artifactUri,
          id: experiments.id, teamId: runs.teamId, teamSlug: teams.slug, name: experiments.name, lifecycleStage: experiments.lifecycleStage,
        })
        .from(runs)
        .innerJoin(experiments, eq(experiments.id, runs.experimentId))
        .innerJoin(teams, eq(teams.id, runs.teamId))
        .where(eq(runs.id, runId))
    : [];
  if (!row) throw new AppError("not_found", missing);
  await check(ctx, row.teamId, row.teamSlug, `run:${runId}`, access, missing);
  return row;
}

/** Logging into a run needs it (and its experiment) to be active, as in MLflow. */
export function requireActiveRun(run: RunRef): void {
  if (run.runLifecycle !== "active") {
    throw new AppError("invalid_input", `The run ${run.runId} must be in the 'active' state. Current state is ${run.runLifecycle}.`);
  }
}

/**
 * The team new experiments go to: the token's team, else the team named by the caller, else the
 * actor's only team. Admins without a membership must name one.
 */
export async function homeTeam(ctx: Ctx, slug?: string): Promise<{ id: string; slug: string }> {
  const { actor } = ctx;
  if (actor.kind === "token" && !slug) return { id: actor.tokenTeamId, slug: actor.tokenTeamSlug };
  if (slug) {
    const team = await findTeamBySlug(ctx.db, slug);
    if (!team || !can(actor, "read_data", team.id)) {
      throw await denied(ctx, { action: "team.read", target: `team:${slug}`, teamId: team?.id, team: slug, mode: "read", message: `Team "${slug}" was not found.` });
    }
    return { id: team.id, slug: team.slug };
  }
  const [only] = actor.memberships;
  if (actor.memberships.length === 1 && only) return { id: only.teamId, slug: only.teamSlug };
  throw new AppError("invalid_input", "Say which team this is for (you belong to several teams, or to none).", { fields: { team: ["Choose a team"] } });
}
