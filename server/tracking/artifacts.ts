// Run and logged-model artifacts behind MLflow's proxied artifact API. The server chooses every
// location (<team>/<experiment>/<run>/ or <team>/<experiment>/models/<model>/ under the store);
// clients only name paths inside it, validated by the store.
import path from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { artifactFreezes, loggedModels, modelVersions, registeredModels } from "@/db/schema";
import { createFsArtifactStore } from "../artifacts/fs-store";
import { normalizeArtifactPath } from "../artifacts/paths";
import { hashing, sha256 } from "../artifacts/hashing";
import { putWithinQuota } from "../artifacts/usage";
import { recordAudit } from "../audit/record";
import type { ArtifactEntry, ArtifactStore } from "../artifacts/store";
import type { Ctx } from "../context";
import type { DbOrTx } from "@/db/client";
import { env } from "../env";
import { AppError } from "../errors";
import type { Access } from "./access";
import { loadExperiment, loadRun, requireActiveRun } from "./access";

const globalForStore = globalThis as unknown as { __cairnArtifacts?: ArtifactStore };

export function artifactStore(): ArtifactStore {
  globalForStore.__cairnArtifacts ??= createFsArtifactStore(path.join(env().dataDir, "artifacts"));
  return globalForStore.__cairnArtifacts;
}

export type Located = { root: string[]; rel: string; teamId: string };

/**
 * Resolves an mlflow-artifacts path ("<experiment>/<run>/artifacts/<rel>" or
 * "<experiment>/models/<model>/artifacts/<rel>") to the store location, checking access.
 */
export async function locateArtifact(ctx: Ctx, rawPath: string, access: Access, opts: { allowEmpty: boolean }): Promise<Located> {
  const clean = normalizeArtifactPath(rawPath, { allowEmpty: true });
  const parts = clean.split("/");
  const [experimentId, second, third, fourth] = parts;
  const unknown = new AppError("not_found", `No artifact location "${rawPath}". Artifact paths look like <experiment_id>/<run_id>/artifacts/<path>.`);
  if (!experimentId || !/^\d+$/.test(experimentId) || !second) throw unknown;
  if (second === "models") {
    if (!third || fourth !== "artifacts") throw unknown;
    const [model] = /^m-[0-9a-f]{32}$/.test(third) ? await ctx.db.select().from(loggedModels).where(eq(loggedModels.id, third)) : [];
    if (!model || String(model.experimentId) !== experimentId) throw unknown;
    const exp = await loadExperiment(ctx, model.experimentId, access);
    const rel = parts.slice(4).join("/");
    if (!rel && !opts.allowEmpty) throw new AppError("invalid_input", "Name a file inside the model's artifacts.");
    return { root: [exp.teamSlug, experimentId, "models", model.id], rel, teamId: exp.teamId };
  }
  if (third !== "artifacts") throw unknown;
  const run = await loadRun(ctx, second, access).catch((err: unknown) => {
    throw err instanceof AppError && err.code === "not_found" ? unknown : err;
  });
  if (String(run.experimentId) !== experimentId) throw unknown;
  if (access.mode === "write") requireActiveRun(run);
  const rel = parts.slice(3).join("/");
  if (!rel && !opts.allowEmpty) throw new AppError("invalid_input", "Name a file inside the run's artifacts.");
  return { root: [run.teamSlug, experimentId, run.runId], rel, teamId: run.teamId };
}

const WRITE: Access = { mode: "write", permission: "train_model", action: "artifact.upload" };

export async function uploadArtifact(ctx: Ctx, rawPath: string, body: ReadableStream<Uint8Array>): Promise<{ size: number }> {
  const loc = await locateArtifact(ctx, rawPath, WRITE, { allowEmpty: false });
  return writeArtifact(ctx, loc, body, env().artifactMaxBytes);
}

/**
 * Every write into a run's (or logged model's) artifacts goes through here: stored within the team's
 * storage quota, then an `artifact.write` audit row right after the file is in place — who wrote which
 * path, how many bytes, their SHA-256 (hashed while streaming, no second read) and whether it replaced a file.
 */
export async function writeArtifact(ctx: Ctx, loc: Located, body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, maxBytes: number): Promise<{ size: number }> {
  await refuseRegisteredPath(ctx, loc);
  const store = artifactStore();
  const before = await store.stat(loc.root, loc.rel);
  const hash = sha256();
  // Checked again at the moment the file appears, under the run's artifact lock (shared among writers): a
  // registration takes it exclusively to freeze the source before it copies the files, so a write either lands
  // before the copy (and is in the pinned copy) or sees the freeze or the version (and is refused).
  let frozenAtCommit: Frozen | undefined;
  const commit = async (place: () => Promise<void>) => {
    await ctx.db.transaction(async (tx) => {
      await lockArtifactRoot(tx, loc.root, "shared");
      frozenAtCommit = await frozenBy(tx, loc);
      if (!frozenAtCommit) await place();
    });
    if (frozenAtCommit) throw await refusal(ctx, loc, frozenAtCommit);
  };
  const stored = await putWithinQuota(ctx.db, store, loc, hashing(body, hash), maxBytes, commit);
  const [team, experimentId, second, modelId] = loc.root;
  await recordAudit(ctx, {
    action: "artifact.write", target: second === "models" ? `logged_model:${modelId}` : `run:${second}`, teamId: loc.teamId, team,
    details: { experiment_id: experimentId, path: loc.rel, bytes: stored.size, sha256: hash.digest("hex"), overwrite: before !== null && !before.is_dir },
  });
  return stored;
}

/**
 * A transaction-scoped lock on one run's (or logged model's) artifacts: writers take it shared while a file
 * appears, a registration exclusively while it freezes the source (both short transactions).
 */
export async function lockArtifactRoot(tx: DbOrTx, root: string[], mode: "shared" | "exclusive"): Promise<void> {
  const key = `cairn-artifacts:${root.join("/")}`;
  if (mode === "shared") await tx.execute(sql`select pg_advisory_xact_lock_shared(hashtextextended(${key}, 0))`);
  else await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
}

type Frozen = { name: string; version: string; location: string };

/** How long a registration's freeze holds without its registration finishing (a crash mid-copy). */
const FREEZE_LAPSES = sql`interval '1 hour'`;

/**
 * A registered version's files are frozen where they were logged, too: the deploy serves the pinned copy, but
 * get-download-uri (MLflow's `models:/` loads) answers this location, so an overwrite would hand unapproved
 * bytes to every other consumer of the version. So are they while a registration copies them (artifact_freezes).
 */
async function frozenBy(db: DbOrTx, loc: Located): Promise<Frozen | undefined> {
  const [, experimentId, second, modelId] = loc.root;
  const base = second === "models" ? `mlflow-artifacts:/${experimentId}/models/${modelId}/artifacts` : `mlflow-artifacts:/${experimentId}/${second}/artifacts`;
  const uri = loc.rel ? `${base}/${loc.rel}` : base;
  const covers = (location: typeof modelVersions.storageLocation | typeof artifactFreezes.storageLocation) =>
    sql`(${location} = ${uri} or left(${uri}, length(${location}) + 1) = ${location} || '/')`;
  const [frozen] = await db
    .select({ name: registeredModels.name, version: sql<string>`${modelVersions.version}::text`, location: modelVersions.storageLocation })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(and(eq(registeredModels.teamId, loc.teamId), covers(modelVersions.storageLocation)))
    .limit(1);
  if (frozen) return frozen;
  const [pending] = await db
    .select({ name: artifactFreezes.modelName, location: artifactFreezes.storageLocation })
    .from(artifactFreezes)
    .where(and(eq(artifactFreezes.teamId, loc.teamId), covers(artifactFreezes.storageLocation), sql`${artifactFreezes.createdAt} > now() - ${FREEZE_LAPSES}`))
    .limit(1);
  return pending ? { ...pending, version: "(being registered)" } : undefined;
}

/**
 * Freezes a source for a registration about to copy it: under the source's artifact lock (exclusive, a short
 * transaction), so every write that lands later sees the freeze and is refused, and every earlier one is in
 * place before the copy starts. The copy itself runs outside any transaction; thawArtifacts ends the freeze.
 */
export async function freezeArtifacts(db: DbOrTx, freeze: { id: string; teamId: string; root: string[]; storageLocation: string; modelName: string }): Promise<void> {
  await db.transaction(async (tx) => {
    await lockArtifactRoot(tx, freeze.root, "exclusive");
    await tx.insert(artifactFreezes).values({ id: freeze.id, teamId: freeze.teamId, storageLocation: freeze.storageLocation, modelName: freeze.modelName });
  });
}

export async function thawArtifacts(db: DbOrTx, id: string): Promise<void> {
  await db.delete(artifactFreezes).where(eq(artifactFreezes.id, id));
}

/** Audits the refused write and returns the error that says why. */
async function refusal(ctx: Ctx, loc: Located, frozen: Frozen): Promise<AppError> {
  const second = loc.root[2];
  await recordAudit(ctx, { action: "artifact.write", target: `run:${second}`, teamId: loc.teamId, team: loc.root[0], outcome: "denied", details: { path: loc.rel, registered_as: `${frozen.name} v${frozen.version}` } });
  return new AppError("conflict", `${loc.rel} belongs to registered model ${frozen.name} version ${frozen.version} (${frozen.location}), whose files are frozen; log the new files in a new run and register them as a new version.`);
}

async function refuseRegisteredPath(ctx: Ctx, loc: Located): Promise<void> {
  const frozen = await frozenBy(ctx.db, loc);
  if (frozen) throw await refusal(ctx, loc, frozen);
}

export async function downloadArtifact(ctx: Ctx, rawPath: string): Promise<{ stream: ReadableStream<Uint8Array>; size: number; filename: string }> {
  const loc = await locateArtifact(ctx, rawPath, { mode: "read" }, { allowEmpty: false });
  const file = await artifactStore().get(loc.root, loc.rel);
  if (!file) throw new AppError("not_found", `Artifact ${rawPath} was not found.`);
  return { ...file, filename: loc.rel.split("/").pop() ?? "artifact" };
}

/** MLflow's proxied listing: immediate children by base name; a file (or nothing) lists as empty. */
export async function listProxiedArtifacts(ctx: Ctx, rawPath: string): Promise<ArtifactEntry[]> {
  if (!rawPath) return [];
  const loc = await locateArtifact(ctx, rawPath, { mode: "read" }, { allowEmpty: true });
  const entries = await artifactStore().list(loc.root, loc.rel);
  return (entries ?? []).map((e) => ({ ...e, path: e.path.split("/").pop() ?? e.path }));
}

/** The run-level listing (`/mlflow/artifacts/list`): paths relative to the run's artifact root. */
export async function listRunArtifacts(ctx: Ctx, runId: string, relDir: string): Promise<{ root_uri: string; files: ArtifactEntry[] }> {
  const run = await loadRun(ctx, runId, { mode: "read" });
  const rel = normalizeArtifactPath(relDir, { allowEmpty: true });
  const entries = await artifactStore().list([run.teamSlug, String(run.experimentId), run.runId], rel);
  return { root_uri: run.artifactUri, files: entries ?? [] };
}

export async function statRunArtifact(ctx: Ctx, runId: string, relPath: string): Promise<{ is_dir: boolean; size: number } | null> {
  const run = await loadRun(ctx, runId, { mode: "read" });
  return artifactStore().stat([run.teamSlug, String(run.experimentId), run.runId], normalizeArtifactPath(relPath, { allowEmpty: true }));
}

export async function readRunArtifact(ctx: Ctx, runId: string, relPath: string): Promise<{ stream: ReadableStream<Uint8Array>; size: number } | null> {
  const run = await loadRun(ctx, runId, { mode: "read" });
  return artifactStore().get([run.teamSlug, String(run.experimentId), run.runId], normalizeArtifactPath(relPath));
}
