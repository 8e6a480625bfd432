// A deployment's training reference: the profile its version's run logged (reference/profile.json among the
// run's artifacts, or inside the model's directory; format in lib/schemas/drift.ts and the README), else — a
// weak stand-in the page says it is — a profile built from the model's logged input example. Sensitive columns
// (tags `cairn.sensitive_columns` on the model version or the registered model, comma-separated) are read here too.
import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { deployments, modelVersionTags, modelVersions, registeredModelTags, teams } from "@/db/schema";
import type { FeatureProfile, ReferenceProfile } from "@/lib/schemas/drift";
import { REFERENCE_FORMAT, REFERENCE_PROFILE_PATH, referenceProfileSchema } from "@/lib/schemas/drift";
import type { ArtifactStore } from "../artifacts/store";
import { artifactStore } from "../tracking/artifacts";
import { histogram, quantileEdges } from "./statistics";
import { inputRows, MAX_DEPTH } from "./rows";

export const SENSITIVE_TAG = "cairn.sensitive_columns";

/** A column name as compared with the profile's and the sensitive tag's: trimmed, lower-case. */
export const normalizedColumn = (name: string): string => name.trim().toLowerCase();
const PROFILE_MAX_BYTES = 4 * 1024 * 1024;
const CACHE_MS = 30_000;

export type Reference = {
  source: "profile" | "input_example" | null;
  profile: ReferenceProfile | null;
  /** What the page says about it (where it came from, or why there is none). */
  note: string;
  /** Column names never stored. */
  sensitive: string[];
  sampleRate: number;
};

type Cache = Map<string, { at: number; value: Reference }>;
const globals = globalThis as unknown as Record<symbol, Cache | undefined>;
const CACHE = Symbol.for("cairn.drift.references");
const cache = (): Cache => (globals[CACHE] ??= new Map());

/** Forgets what was read for a deployment (its sample rate or tags changed). */
export function forgetReference(deploymentId?: string): void {
  if (deploymentId) cache().delete(deploymentId);
  else cache().clear();
}

async function readJson(store: ArtifactStore, root: string[], rel: string): Promise<unknown> {
  const file = await store.get(root, rel).catch(() => null);
  if (!file) return undefined;
  if (file.size > PROFILE_MAX_BYTES) {
    await file.stream.cancel();
    throw new Error(`${rel} is over ${PROFILE_MAX_BYTES / 1024 / 1024} MiB`);
  }
  return JSON.parse(new TextDecoder().decode(await new Response(file.stream).arrayBuffer()));
}

/** The store location of a version's files: its root and the model's directory inside it. */
function locationOf(team: string, storageLocation: string): { root: string[]; rel: string } | null {
  const parts = storageLocation.replace(/^mlflow-artifacts:\/*/, "").split("/").filter(Boolean);
  if (parts[1] === "models" && parts[3] === "artifacts") return { root: [team, parts[0]!, "models", parts[2]!], rel: parts.slice(4).join("/") };
  if (parts[2] === "artifacts") return { root: [team, parts[0]!, parts[1]!], rel: parts.slice(3).join("/") };
  return null;
}

/** A profile from a handful of example rows: quantile bins for numbers (booleans as 0/1), counts for the rest. */
export function profileFromRows(rows: Record<string, unknown>[]): ReferenceProfile | null {
  if (rows.length === 0) return null;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const features: FeatureProfile[] = columns.map((name) => {
    const values = rows.map((r) => r[name]).filter((v) => v !== null && v !== undefined);
    const numeric = values.every((v) => typeof v === "number" || typeof v === "boolean");
    if (numeric && values.length > 0) {
      const nums = values.map(Number);
      const edges = quantileEdges(nums, 10);
      return { name, kind: "numeric", bin_edges: edges, counts: histogram(edges, nums) };
    }
    const tally = new Map<string, number>();
    for (const v of values) tally.set(String(v), (tally.get(String(v)) ?? 0) + 1);
    const counts: Record<string, number> = {};
    for (const [k, c] of tally) Object.defineProperty(counts, k, { value: c, enumerable: true, writable: true, configurable: true });
    return { name, kind: "categorical", counts: tally.size > 0 ? counts : { "(none)": 0 } };
  });
  return { format: REFERENCE_FORMAT, rows: rows.length, features };
}

async function read(db: DbOrTx, store: ArtifactStore, deploymentId: string): Promise<Reference | null> {
  const [d] = await db
    .select({ sampleRate: deployments.sampleRate, versionId: deployments.versionId, modelId: deployments.modelId, team: teams.slug })
    .from(deployments)
    .innerJoin(teams, eq(teams.id, deployments.teamId))
    .where(eq(deployments.id, deploymentId));
  if (!d) return null;
  const [v] = d.versionId
    ? await db.select({ runId: modelVersions.runId, location: modelVersions.storageLocation, inspection: modelVersions.inspection }).from(modelVersions).where(eq(modelVersions.id, d.versionId))
    : [];
  const tags = [
    ...(d.versionId ? await db.select({ value: modelVersionTags.value }).from(modelVersionTags).where(and(eq(modelVersionTags.versionId, d.versionId), eq(modelVersionTags.key, SENSITIVE_TAG))) : []),
    ...(await db.select({ value: registeredModelTags.value }).from(registeredModelTags).where(and(eq(registeredModelTags.modelId, d.modelId), eq(registeredModelTags.key, SENSITIVE_TAG)))),
  ];
  const sensitive = [...new Set(tags.flatMap((t) => t.value.split(",").map((c) => c.trim()).filter(Boolean)))];
  const base = { sensitive, sampleRate: d.sampleRate };
  if (!v) return { ...base, source: null, profile: null, note: "The deployed version no longer exists, so its training reference cannot be read." };
  const location = locationOf(d.team, v.location);
  const tried: [string[], string][] = [];
  // The run's own artifacts first (a logged model's run is in the same experiment), then the model's directory.
  if (location && v.runId) tried.push([[location.root[0]!, location.root[1]!, v.runId], REFERENCE_PROFILE_PATH]);
  if (location) tried.push([location.root, location.rel ? `${location.rel}/${REFERENCE_PROFILE_PATH}` : REFERENCE_PROFILE_PATH]);
  for (const [root, rel] of tried) {
    let json: unknown;
    try {
      json = await readJson(store, root, rel);
    } catch (err) {
      return { ...base, source: null, profile: null, note: `The run's ${REFERENCE_PROFILE_PATH} could not be read (${err instanceof Error ? err.message : String(err)}); fix it and log it again.` };
    }
    if (json === undefined) continue;
    const parsed = referenceProfileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ...base, source: null, profile: null, note: `The run's ${REFERENCE_PROFILE_PATH} is not a ${REFERENCE_FORMAT} profile (${issue ? `${issue.path.join(".") || "profile"}: ${issue.message}` : "invalid"}); see the README's "Drift monitoring".` };
    }
    return { ...base, source: "profile", profile: parsed.data, note: `Reference: ${REFERENCE_PROFILE_PATH} logged with the run${parsed.data.rows ? ` (${parsed.data.rows} rows)` : ""}.` };
  }
  if (v.inspection.inputExample) {
    let profile: ReferenceProfile | null = null;
    try {
      profile = profileFromRows(inputRows(JSON.parse(v.inspection.inputExample), 1000).rows);
    } catch {
      profile = null;
    }
    if (!profile) {
      return { ...base, source: null, profile: null, note: `No training reference: the run logged no ${REFERENCE_PROFILE_PATH}, and the input example could not be read (not JSON rows in a scoring format, or nested deeper than ${MAX_DEPTH} levels). Log a profile with the run (see the README's "Drift monitoring") to see drift.` };
    }
    return { ...base, source: "input_example", profile, note: `No ${REFERENCE_PROFILE_PATH} was logged with the run: the reference is the model's logged input example (${profile.rows} rows), too few for a trustworthy drift figure. Log a profile with the run (see the README) for one.` };
  }
  return { ...base, source: null, profile: null, note: `No training reference: the run logged no ${REFERENCE_PROFILE_PATH} and the model no input example. Log a profile with the run (see the README's "Drift monitoring") to see drift.` };
}

/** The deployment's reference, sensitive columns and sample rate (cached for 30 s); null for an unknown deployment. */
export async function deploymentReference(db: DbOrTx, deploymentId: string, opts: { fresh?: boolean; store?: ArtifactStore } = {}): Promise<Reference | null> {
  const hit = cache().get(deploymentId);
  if (!opts.fresh && hit && Date.now() - hit.at < CACHE_MS) return hit.value;
  const value = await read(db, opts.store ?? artifactStore(), deploymentId);
  if (value) cache().set(deploymentId, { at: Date.now(), value });
  return value;
}

/** The sample rate read for a deployment within the cache's life, without a database read (undefined: not read yet). */
export function cachedSampleRate(deploymentId: string): number | undefined {
  const hit = cache().get(deploymentId);
  return hit && Date.now() - hit.at < CACHE_MS ? hit.value.sampleRate : undefined;
}

/**
 * Column names for a positional row: the reference's features (a row tensor's columns in order); a profile
 * built from a positional example names them "#0", "#1", … itself.
 */
export function columnNames(reference: Pick<Reference, "profile"> | null): string[] | null {
  return reference?.profile ? reference.profile.features.map((f) => f.name) : null;
}
