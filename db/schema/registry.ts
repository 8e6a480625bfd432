// Model registry (MLflow's model): registered models owned by a team, numbered versions created from a
// run's (or an MLflow 3 logged model's) artifacts, aliases with the history of every move, tags.
// Times are epoch milliseconds (bigint), as MLflow's API speaks them.
import { sql } from "drizzle-orm";
import { bigint, bigserial, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { teams, users } from "./tenancy";
import { loggedModels, runs } from "./tracking";

export const MODEL_VERSION_STAGES = ["None", "Staging", "Production", "Archived"] as const;
export type ModelVersionStage = (typeof MODEL_VERSION_STAGES)[number];

/** What the server read from the version's artifacts when it was registered. */
export type ModelSignature = { inputs: TensorSpec[]; outputs: TensorSpec[] };
export type TensorSpec = { name?: string; type: string; shape?: (number | string)[] };
export type ModelInspection = {
  /** "onnx" when a model.onnx is present (the built-in server serves it), else the first MLmodel flavor, else "unknown". */
  format: string;
  flavors: string[];
  signature: ModelSignature | null;
  /** Where the signature came from: the ONNX graph or the MLmodel file. */
  signatureSource: "onnx" | "mlmodel" | null;
  inputExample: string | null;
  onnxPath: string | null;
  files: string[];
};

/** One pinned file of a version: its path inside the version's location, size and SHA-256 (hex). */
export type PinnedFile = { path: string; size: number; sha256: string };

export const registeredModels = pgTable(
  "registered_models",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    /** Version numbers are never reused, even after a version is deleted. */
    lastVersion: integer("last_version").notNull().default(0),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    creationTime: bigint("creation_time", { mode: "number" }).notNull(),
    lastUpdatedTime: bigint("last_updated_time", { mode: "number" }).notNull(),
  },
  (t) => [unique("registered_models_team_name_uq").on(t.teamId, t.name)],
);

export const registeredModelTags = pgTable(
  "registered_model_tags",
  {
    modelId: uuid("model_id").notNull().references(() => registeredModels.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.key] })],
);

export const modelVersions = pgTable(
  "model_versions",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    modelId: uuid("model_id").notNull().references(() => registeredModels.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    /** The source as the client sent it (runs:/…, mlflow-artifacts:/…, models:/m-…). */
    source: text("source").notNull(),
    /** Where the server resolved it to, always inside the team's own artifacts: mlflow-artifacts:/<exp>/<run>/artifacts/<path> or …/models/<m>/artifacts. */
    storageLocation: text("storage_location").notNull(),
    runId: text("run_id").references(() => runs.id, { onDelete: "set null" }),
    loggedModelId: text("logged_model_id").references(() => loggedModels.id, { onDelete: "set null" }),
    status: text("status").notNull().default("READY"),
    statusMessage: text("status_message"),
    stage: text("stage").$type<ModelVersionStage>().notNull().default("None"),
    description: text("description").notNull().default(""),
    runLink: text("run_link"),
    inspection: jsonb("inspection").$type<ModelInspection>().notNull(),
    /**
     * sha256:<hex> over the manifest of the version's files, pinned when it was registered (an immutable
     * copy is kept outside the run's artifacts). Null only for versions registered before pinning existed.
     */
    contentDigest: text("content_digest"),
    contentManifest: jsonb("content_manifest").$type<PinnedFile[]>(),
    userId: text("user_id").notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    creationTime: bigint("creation_time", { mode: "number" }).notNull(),
    lastUpdatedTime: bigint("last_updated_time", { mode: "number" }).notNull(),
  },
  (t) => [unique("model_versions_model_version_uq").on(t.modelId, t.version), index("model_versions_run_idx").on(t.runId)],
);

export const modelVersionTags = pgTable(
  "model_version_tags",
  {
    versionId: uuid("version_id").notNull().references(() => modelVersions.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.versionId, t.key] })],
);

export const modelAliases = pgTable(
  "model_aliases",
  {
    modelId: uuid("model_id").notNull().references(() => registeredModels.id, { onDelete: "cascade" }),
    alias: text("alias").notNull(),
    version: integer("version").notNull(),
    updatedBy: text("updated_by").notNull(),
    updatedTime: bigint("updated_time", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.alias] })],
);

/** Every move of an alias: set (from → to), moved, or removed (to is null). */
export const modelAliasEvents = pgTable(
  "model_alias_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    modelId: uuid("model_id").notNull().references(() => registeredModels.id, { onDelete: "cascade" }),
    alias: text("alias").notNull(),
    fromVersion: integer("from_version"),
    toVersion: integer("to_version"),
    actor: text("actor").notNull(),
    /** How it moved: "api" (a member), or the workflow that moved it (e.g. an approval). */
    via: text("via").notNull().default("api"),
    time: bigint("time", { mode: "number" }).notNull(),
  },
  (t) => [index("model_alias_events_model_idx").on(t.modelId, t.id)],
);

/** Per-team registry settings: aliases only the production approval workflow may move. */
export const registrySettings = pgTable("registry_settings", {
  teamId: uuid("team_id").primaryKey().references(() => teams.id, { onDelete: "cascade" }),
  protectedAliases: jsonb("protected_aliases").$type<string[]>().notNull().default(sql`'["production"]'::jsonb`),
});

/**
 * A registration in progress: from the moment it starts copying a run's (or logged model's) files to its commit,
 * writes at `storage_location` are refused as they would be once the version exists. Its id is the version's
 * id to be; the row goes with the registration's commit or failure (one left by a crash lapses after an hour).
 */
export const artifactFreezes = pgTable(
  "artifact_freezes",
  {
    id: uuid("id").primaryKey(),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    storageLocation: text("storage_location").notNull(),
    modelName: text("model_name").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("artifact_freezes_team_idx").on(t.teamId)],
);
