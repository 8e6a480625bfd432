// Resolving a model version's source to the team's own artifacts. The server accepts exactly three
// shapes — runs:/<run_id>/<path>, mlflow-artifacts:/<experiment>/<run>/artifacts/<path> (or a logged
// model's …/models/m-<id>/artifacts) and MLflow 3's models:/m-<id> — and refuses everything else: local
// paths, file: URIs, other hosts and schemes, and runs or models of another team.
import { and, eq } from "drizzle-orm";
import { loggedModels, runOutputs } from "@/db/schema";
import { normalizeArtifactPath } from "../artifacts/paths";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadExperiment, loadRun } from "../tracking/access";
import { artifactStore, locateArtifact } from "../tracking/artifacts";
import { runArtifactUri } from "../tracking/dto";

export type ResolvedSource = {
  /** mlflow-artifacts:/… inside the team's artifacts: what get-download-uri answers. */
  storageLocation: string;
  /** The artifact store location: a server-chosen root and a path inside it. */
  root: string[];
  rel: string;
  runId: string | null;
  loggedModelId: string | null;
};

const SHAPES =
  "runs:/<run_id>/<path>, mlflow-artifacts:/<experiment_id>/<run_id>/artifacts/<path> or models:/m-<model_id> (an MLflow 3 logged model)";

function refuse(source: string, why: string): AppError {
  return new AppError("invalid_input", `Model version source '${source}' is refused: ${why}. Register from this team's own artifacts: ${SHAPES}.`);
}

const LOGGED_MODEL = /^m-[0-9a-f]{32}$/;

export async function resolveSource(
  ctx: Ctx,
  team: { id: string; slug: string },
  input: { source: string; run_id?: string; model_id?: string },
): Promise<ResolvedSource> {
  const source = input.source.trim();
  const resolved = await resolveShape(ctx, team, source);
  if (input.run_id && resolved.runId && input.run_id !== resolved.runId) {
    throw new AppError("invalid_input", `run_id ${input.run_id} does not match the source, which belongs to run ${resolved.runId}.`);
  }
  if (input.model_id && input.model_id !== resolved.loggedModelId) {
    throw new AppError("invalid_input", `model_id ${input.model_id} does not match the source '${source}'.`);
  }
  let runId = resolved.runId;
  if (!runId && input.run_id) {
    const run = await loadRun(ctx, input.run_id, { mode: "read" });
    sameTeam(run.teamId, run.teamSlug, team, `run ${run.runId}`);
    runId = run.runId;
  }
  return { ...resolved, runId };
}

function sameTeam(ownerId: string, ownerSlug: string, team: { id: string; slug: string }, what: string): void {
  if (ownerId !== team.id) {
    throw new AppError("invalid_input", `${what} belongs to team ${ownerSlug}; a model of team ${team.slug} can only be registered from team ${team.slug}'s runs.`);
  }
}

async function resolveShape(ctx: Ctx, team: { id: string; slug: string }, source: string): Promise<ResolvedSource> {
  if (source === "") throw refuse(source, "it is empty");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(source)?.[1]?.toLowerCase();
  if (scheme === "runs") return fromRun(ctx, team, source);
  if (scheme === "mlflow-artifacts") return fromArtifactUri(ctx, team, source);
  if (scheme === "models") return fromLoggedModel(ctx, team, source);
  if (!scheme || /^[A-Za-z]$/.test(scheme)) throw refuse(source, "it is a path on some machine, not a location in Cairn's artifact store");
  if (scheme === "file") throw refuse(source, "file: URIs point at a machine's disk");
  throw refuse(source, `${scheme}: locations are outside Cairn's artifact store`);
}

async function fromRun(ctx: Ctx, team: { id: string; slug: string }, source: string): Promise<ResolvedSource> {
  const m = /^runs:\/([^/]*)(?:\/(.*))?$/i.exec(source);
  if (!m || !/^[0-9a-f]{32}$/.test(m[1]!)) throw refuse(source, "a runs:/ URI names a 32-character run id, as in runs:/<run_id>/model");
  const rel = normalizeArtifactPath(m[2] ?? "", { allowEmpty: true });
  const run = await loadRun(ctx, m[1]!, { mode: "read" });
  sameTeam(run.teamId, run.teamSlug, team, `Run ${run.runId}`);
  const root = [run.teamSlug, String(run.experimentId), run.runId];
  const atPath = await artifactStore().stat(root, rel);
  if (!atPath && rel && !rel.includes("/")) {
    // MLflow 3 logs a model's files under the logged model, not the run: runs:/<run>/<name> then means
    // the run's output model of that name.
    const [model] = await ctx.db
      .select({ id: loggedModels.id, experimentId: loggedModels.experimentId, location: loggedModels.artifactLocation })
      .from(runOutputs)
      .innerJoin(loggedModels, eq(loggedModels.id, runOutputs.modelId))
      .where(and(eq(runOutputs.runId, run.runId), eq(loggedModels.name, rel)))
      .orderBy(loggedModels.creationTime)
      .limit(1);
    if (model) return { storageLocation: model.location, root: [run.teamSlug, String(model.experimentId), "models", model.id], rel: "", runId: run.runId, loggedModelId: model.id };
  }
  const base = runArtifactUri(run.experimentId, run.runId);
  return { storageLocation: rel ? `${base}/${rel}` : base, root, rel, runId: run.runId, loggedModelId: null };
}

async function fromArtifactUri(ctx: Ctx, team: { id: string; slug: string }, source: string): Promise<ResolvedSource> {
  const rest = source.slice("mlflow-artifacts:".length);
  if (rest.startsWith("//")) {
    const authority = rest.slice(2).split("/")[0];
    if (authority) throw refuse(source, `it names another host (${authority})`);
  }
  const path = rest.replace(/^\/+/, "");
  const loc = await locateArtifact(ctx, path, { mode: "read" }, { allowEmpty: true }).catch((err: unknown) => {
    throw err instanceof AppError && err.code === "not_found" ? refuse(source, "no run or logged model of yours has that artifact location") : err;
  });
  if (loc.teamId !== team.id) throw new AppError("invalid_input", `Source '${source}' belongs to another team; register it in that team.`);
  const [experimentId, second] = loc.root.slice(1);
  const loggedModelId = second === "models" ? loc.root[3]! : null;
  let runId: string | null = second === "models" ? null : second!;
  if (loggedModelId) {
    const [model] = await ctx.db.select({ runId: loggedModels.sourceRunId }).from(loggedModels).where(eq(loggedModels.id, loggedModelId));
    runId = model?.runId ?? null;
  }
  const base = loggedModelId ? `mlflow-artifacts:/${experimentId}/models/${loggedModelId}/artifacts` : runArtifactUri(Number(experimentId), runId!);
  return { storageLocation: loc.rel ? `${base}/${loc.rel}` : base, root: loc.root, rel: loc.rel, runId, loggedModelId };
}

async function fromLoggedModel(ctx: Ctx, team: { id: string; slug: string }, source: string): Promise<ResolvedSource> {
  const id = /^models:\/(m-[0-9a-f]{32})\/?$/i.exec(source)?.[1];
  if (!id || !LOGGED_MODEL.test(id)) {
    throw refuse(source, "models:/ sources name an MLflow 3 logged model (models:/m-<id>); to copy a registered version, register from its run instead");
  }
  const missing = new AppError("not_found", `Logged model with ID '${id}' not found.`);
  const [model] = await ctx.db.select().from(loggedModels).where(eq(loggedModels.id, id));
  if (!model) throw missing;
  const exp = await loadExperiment(ctx, model.experimentId, { mode: "read" }).catch((err: unknown) => {
    throw err instanceof AppError && err.code === "not_found" ? missing : err;
  });
  sameTeam(exp.teamId, exp.teamSlug, team, `Logged model ${id}`);
  return {
    storageLocation: model.artifactLocation,
    root: [exp.teamSlug, String(model.experimentId), "models", model.id],
    rel: "",
    runId: model.sourceRunId,
    loggedModelId: model.id,
  };
}

/** The store location of an mlflow-artifacts:/ URI the server itself resolved (never client input). */
export function storageRoot(teamSlug: string, location: string): { root: string[]; rel: string } | null {
  const m = /^mlflow-artifacts:\/(\d+)\/(models\/m-[0-9a-f]{32}|[0-9a-f]{32})\/artifacts\/?(.*)$/.exec(location);
  if (!m) return null;
  return { root: [teamSlug, m[1]!, ...m[2]!.split("/")], rel: m[3] ?? "" };
}
