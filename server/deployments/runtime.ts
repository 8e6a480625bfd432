// The serving side of deployments in this process: copies a deployment's model out of the version's
// pinned files (checked against the pinned SHA-256 before any replica loads it), starts its replicas
// through the local replica manager, and writes what happens to them back as the deployment's status
// and events. One runtime per process (globalThis, like the scheduler); every step is idempotent, so
// start-up simply brings up every live deployment again.
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "@/db/client";
import type { ModelInspection } from "@/db/schema";
import { LIVE_DEPLOYMENT_STATUSES, deploymentEvents, deployments, modelVersions, teams } from "@/db/schema";
import { env } from "../env";
import { touchInferenceSeries } from "../observability/metrics";
import { setDeploymentStatus } from "./status";
import { pinRoot, pinnedStore } from "../registry/pins";
import { hashing, sha256, sha256OfFile } from "../artifacts/hashing";
import type { ReplicaLease, ReplicaState, ServingLoad, ServingState } from "./local-serving";
import { LocalServing, SECRET_HEADER } from "./local-serving";
import { log } from "../observability/log";

export function deploymentDir(id: string): string {
  return path.join(env().dataDir, "deployments", id);
}

type Runtime = {
  serving: LocalServing;
  /** The database each deployment's status is written to (the process's own; tests open several). */
  dbs: Map<string, Db>;
  /** Bring-ups in flight, by deployment: callers (and tests) can wait for one to settle. */
  pending: Map<string, Promise<void>>;
  /** The last ready count written per deployment, so replica churn writes one event per change. */
  lastReady: Map<string, number>;
  /** The status write in flight per deployment. */
  chains: Map<string, Promise<void>>;
  /** Deployments whose last event said replicas were down (so "serving again" follows only a degradation, not a scale-up). */
  degraded: Set<string>;
  /** Retirements in flight (drain, then stop), by deployment. */
  retiring: Map<string, Promise<void>>;
};

const globals = globalThis as unknown as { __cairnDeployments?: Runtime };

function runtime(): Runtime {
  if (!globals.__cairnDeployments) {
    const rt: Runtime = { serving: undefined as unknown as LocalServing, dbs: new Map(), pending: new Map(), lastReady: new Map(), chains: new Map(), degraded: new Set(), retiring: new Map() };
    // Status writes for one deployment are chained, so they land in the order the replicas changed.
    rt.serving = new LocalServing({
      onChange: (state) => {
        const prior = rt.chains.get(state.deploymentId) ?? Promise.resolve();
        const next = prior.then(() => onReplicaChange(rt, state)).catch((err: unknown) => log.error("deployment status update failed", { err }));
        rt.chains.set(state.deploymentId, next);
        void next.finally(() => {
          if (rt.chains.get(state.deploymentId) === next) rt.chains.delete(state.deploymentId);
        });
      },
    });
    globals.__cairnDeployments = rt;
  }
  return globals.__cairnDeployments;
}

async function onReplicaChange(rt: Runtime, state: ServingState): Promise<void> {
  const db = rt.dbs.get(state.deploymentId);
  if (!db) return;
  const before = rt.lastReady.get(state.deploymentId);
  rt.lastReady.set(state.deploymentId, state.ready);
  // Bring-up writes its own outcome; this follows a deployment once it has served.
  if (before === undefined || rt.pending.has(state.deploymentId)) return;
  const failed = state.replicas.filter((r) => r.status === "failed");
  if (state.ready === 0 && failed.length > 0 && failed.length === state.replicas.length) {
    await setDeploymentStatus(db, state.deploymentId, "failed", `every replica failed: ${failed[0]!.message ?? "exited"}`);
  } else if (state.ready < before && state.ready < state.desired) {
    rt.degraded.add(state.deploymentId);
    const down = state.replicas.filter((r) => r.status !== "ready").map((r) => `replica ${r.index} ${r.status}${r.message ? ` (${r.message})` : ""}`);
    await db.insert(deploymentEvents).values({ deploymentId: state.deploymentId, status: "ready", message: `${state.ready} of ${state.desired} replicas serving: ${down.join("; ")}` });
  } else if (state.ready > before && state.ready === state.desired && rt.degraded.delete(state.deploymentId)) {
    await db.insert(deploymentEvents).values({ deploymentId: state.deploymentId, status: "ready", message: `all ${state.desired} replicas serving again` });
  }
}

const mismatch = (what: string, d: { modelName: string; version: number }, expected: string, actual: string) =>
  new Error(`${what} does not match the SHA-256 pinned for version ${d.version} of ${d.modelName} (pinned ${expected}, found ${actual}); it was not served. Deploy the version again from the registry.`);

/**
 * Copies the version's model file from its pinned copy (never from the run's artifacts, which members
 * may overwrite) into the deployment's own directory, hashing it on the way: only bytes with the pinned
 * SHA-256 are kept (atomically, once).
 */
async function snapshotModel(id: string, d: { modelName: string; version: number }, versionId: string, onnxPath: string, expected: string): Promise<string> {
  const dir = deploymentDir(id);
  const file = path.join(dir, "model.onnx");
  const got = await pinnedStore().get(pinRoot(versionId), onnxPath);
  if (!got) throw new Error(`the pinned copy of ${onnxPath} of version ${d.version} of ${d.modelName} is missing from the registry's folder; nothing was served`);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const hash = sha256();
  try {
    await writeFile(tmp, hashing(got.stream, hash));
    const actual = hash.digest("hex");
    if (actual !== expected) throw mismatch(`The pinned copy of ${onnxPath}`, d, expected, actual);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}

/** The model file the replicas will load: the deployment's copy, checked against the pinned hash every time it is brought up. */
async function verifiedModel(db: Db, id: string, d: typeof deployments.$inferSelect, inspection: ModelInspection | null): Promise<string> {
  const expected = d.modelSha256;
  const file = path.join(deploymentDir(id), "model.onnx");
  const hasCopy = await stat(file).then(() => true, () => false);
  if (!expected) {
    // Made before Cairn pinned model files: it keeps serving the copy it already served (nothing new
    // reaches it), whose hash is recorded now and checked from then on. Without a copy it has nothing proven to serve.
    if (!hasCopy) throw new Error(`deployment ${id} was made before Cairn pinned model files and holds no copy of its model, so it is not served; deploy version ${d.version} of ${d.modelName} again`);
    const actual = await sha256OfFile(file);
    await db.transaction(async (tx) => {
      const [set] = await tx.update(deployments).set({ modelSha256: actual }).where(and(eq(deployments.id, id), isNull(deployments.modelSha256))).returning({ id: deployments.id });
      if (set) await tx.insert(deploymentEvents).values({ deploymentId: id, status: d.status, message: `deployed before Cairn pinned model files: its copy of model.onnx (sha256 ${actual}) is recorded and checked from now on` });
    });
    return file;
  }
  if (hasCopy) {
    const actual = await sha256OfFile(file);
    if (actual === expected) return file;
    await rm(file, { force: true });
    throw mismatch("The deployment's copy of model.onnx", d, expected, actual);
  }
  if (!d.versionId || !inspection?.onnxPath) throw new Error(`version ${d.version} of ${d.modelName} was deleted and this deployment holds no copy of its model`);
  return snapshotModel(id, d, d.versionId, inspection.onnxPath, expected);
}

async function bringUpNow(rt: Runtime, db: Db, id: string): Promise<void> {
  const [row] = await db
    .select({ d: deployments, team: teams.slug, inspection: modelVersions.inspection })
    .from(deployments)
    .innerJoin(teams, eq(teams.id, deployments.teamId))
    .leftJoin(modelVersions, eq(modelVersions.id, deployments.versionId))
    .where(eq(deployments.id, id));
  if (!row || !(LIVE_DEPLOYMENT_STATUSES as readonly string[]).includes(row.d.status)) return;
  const d = row.d;
  try {
    if (d.backend !== "local" || env().computeBackend !== "local") {
      throw new Error(`this deployment was made for the ${d.backend} backend and this Cairn serves on ${env().computeBackend} (CAIRN_COMPUTE_BACKEND); deploy the version again here`);
    }
    const modelPath = await verifiedModel(db, id, d, row.inspection);
    const state = await rt.serving.ensure({ deploymentId: id, modelName: d.modelName, version: d.version, modelPath, replicas: d.replicas });
    // A stop that raced the bring-up wins: nothing may keep serving a stopped deployment.
    const [now] = await db.select({ status: deployments.status }).from(deployments).where(eq(deployments.id, id));
    if (!now || now.status === "stopped") {
      await rt.serving.stop(id);
      return;
    }
    rt.lastReady.set(id, state.ready);
    touchInferenceSeries(row.team, id);
    if (d.status !== "ready") await setDeploymentStatus(db, id, "ready", `${state.ready} of ${state.desired} replicas serving`, { readyAt: d.readyAt === null });
  } catch (err) {
    await rt.serving.stop(id).catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    await setDeploymentStatus(db, id, "failed", message.slice(0, 2000));
  }
}

/**
 * How long a deployment's replicas keep serving after it stopped being live (replaced by a promotion or a
 * rollback, or stopped): a request the gateway routed to them just before still finds one serving (new requests
 * already resolve elsewhere or answer 410), and the model server finishes what it holds when told to stop.
 */
export const DRAIN_AFTER_SWITCH_MS = 1_000;

/** Ends a deployment's replicas and removes its copy of the model; its status is the caller's to write. */
async function release(rt: Runtime, id: string): Promise<void> {
  rt.lastReady.delete(id);
  rt.degraded.delete(id);
  rt.dbs.delete(id);
  await rt.serving.stop(id);
  await rm(deploymentDir(id), { recursive: true, force: true });
}

export type DeploymentRuntime = {
  /** Starts (or re-starts) a deployment's replicas in the background. */
  bringUp(db: Db, id: string): void;
  /** Resolves when the bring-up in flight (if any) has settled. */
  settled(id: string): Promise<void>;
  stop(id: string): Promise<void>;
  /** Stops a deployment that is no longer live after the drain (DRAIN_AFTER_SWITCH_MS); concurrent calls share it. */
  retire(id: string): Promise<void>;
  readyReplicas(id: string): number | null;
  /** The deployment's replicas in this process (pid while a process runs), for the serving resource sampler; null: not served here. */
  replicas(id: string): ReplicaState[] | null;
  /** Whether this process runs (or is bringing up) the deployment's replicas. */
  isServing(id: string): boolean;
  /** The deployments this process runs replicas for. */
  servingIds(): string[];
  /** A serving replica's base URL, round-robin; null when none serves. */
  pick(id: string): string | null;
  /** Whether a replica of the deployment serves now (what pick would find), without moving the round-robin. */
  serves(id: string): boolean;
  /** The least busy serving replica, counted as in flight until released; null when none serves. */
  acquire(id: string): ReplicaLease | null;
  /** Requests in flight and their time integral (null: not served by this process). */
  load(id: string): ServingLoad | null;
  /** Changes a served deployment's replica count (null: not served by this process). */
  scale(id: string, replicas: number): Promise<ServingState | null>;
  /** Headers every request to a replica carries (the replicas' shared secret). */
  replicaHeaders(): Record<string, string>;
};

// One view per runtime (the gateway asks for it on every request).
const views = new WeakMap<Runtime, DeploymentRuntime>();

export function deploymentRuntime(): DeploymentRuntime {
  const rt = runtime();
  let view = views.get(rt);
  if (!view) {
    view = viewOf(rt);
    views.set(rt, view);
  }
  return view;
}

function viewOf(rt: Runtime): DeploymentRuntime {
  return {
    bringUp(db, id) {
      rt.dbs.set(id, db);
      if (rt.pending.has(id)) return;
      const p = bringUpNow(rt, db, id)
        .catch((err: unknown) => log.error(`deployment ${id} bring-up failed`, { err }))
        .finally(() => rt.pending.delete(id));
      rt.pending.set(id, p);
    },
    settled: async (id) => {
      await rt.pending.get(id);
    },
    async stop(id) {
      await rt.pending.get(id);
      await release(rt, id);
    },
    retire(id) {
      const known = rt.retiring.get(id);
      if (known) return known;
      const done = (async () => {
        await rt.pending.get(id);
        if (rt.serving.state(id) !== null) await new Promise((r) => setTimeout(r, DRAIN_AFTER_SWITCH_MS));
        await release(rt, id);
      })().finally(() => rt.retiring.delete(id));
      rt.retiring.set(id, done);
      return done;
    },
    readyReplicas: (id) => rt.serving.state(id)?.ready ?? null,
    replicas: (id) => rt.serving.state(id)?.replicas ?? null,
    isServing: (id) => rt.pending.has(id) || rt.serving.state(id) !== null,
    servingIds: () => rt.serving.ids(),
    pick: (id) => rt.serving.pick(id),
    serves: (id) => rt.serving.serves(id),
    acquire: (id) => rt.serving.acquire(id),
    load: (id) => rt.serving.load(id),
    // Only once its bring-up has settled: a scale never races the first start.
    scale: async (id, replicas) => (rt.pending.has(id) ? null : rt.serving.scale(id, replicas)),
    replicaHeaders: () => ({ [SECRET_HEADER]: rt.serving.secret }),
  };
}

/** Stops every replica of this process (tests; shutdown). */
export async function stopAllReplicas(): Promise<void> {
  const rt = globals.__cairnDeployments;
  if (!rt) return;
  await Promise.all([...rt.pending.values()]);
  // Forget first: a deliberate stop of everything is not news for the deployments' event logs.
  rt.lastReady.clear();
  rt.dbs.clear();
  await rt.serving.stopAll();
}
