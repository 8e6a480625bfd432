// Request schemas of the MLflow-compatible model registry API and Cairn's /api/v1/models. Unknown
// fields are ignored, as MLflow does; limits are MLflow's.
import { z } from "zod";
import { tagSchema } from "./mlflow";

export const MODEL_NAME_MAX = 256;

export const modelNameSchema = z
  .string({ error: "name is required" })
  .trim()
  .min(1, "name must not be empty")
  .max(MODEL_NAME_MAX, `name is longer than ${MODEL_NAME_MAX} characters`)
  .refine((n) => !/[/:%@]/.test(n) && !n.includes(".."), "name may not contain '/', ':', '%', '@' or '..' (it is used in models:/<name> URIs)");

/** Versions arrive as strings ("3") or numbers. */
export const versionSchema = z
  .union([z.string(), z.number()], { error: "version is required" })
  .transform(String)
  .pipe(z.string().regex(/^\d{1,9}$/, "version must be a positive whole number"));

const description = z.string().max(100_000, "description is longer than 100000 characters");
const team = z.string().max(64).optional();
const orderBy = z.union([z.array(z.string()), z.string().transform((s) => [s])]).optional().default([]);
const maxResults = (dflt: number, max: number) =>
  z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]).optional().default(dflt)
    .pipe(z.number().int().min(1, "max_results must be at least 1").max(max, `max_results is at most ${max}`));

export const createModelSchema = z.object({ name: modelNameSchema, tags: z.array(tagSchema).max(100).optional(), description: description.optional(), team });
export const modelNameQuery = z.object({ name: modelNameSchema, team });
export const renameModelSchema = z.object({ name: modelNameSchema, new_name: modelNameSchema, team });
export const updateModelSchema = z.object({ name: modelNameSchema, description: description.optional().default(""), team });
export const modelTagSchema = z.object({ name: modelNameSchema, key: tagSchema.shape.key, value: tagSchema.shape.value, team });
export const modelTagKeySchema = z.object({ name: modelNameSchema, key: tagSchema.shape.key, team });
export const searchModelsSchema = z.object({
  filter: z.string().max(10_000).optional(),
  max_results: maxResults(100, 1000),
  order_by: orderBy,
  page_token: z.string().optional(),
  team,
});
export const latestVersionsSchema = z.object({
  name: modelNameSchema,
  stages: z.union([z.array(z.string()), z.string().transform((s) => [s])]).optional().default([]),
  team,
});
export const aliasSchema = z.object({ name: modelNameSchema, alias: z.string({ error: "alias is required" }).min(1).max(255), version: versionSchema, team });
export const aliasKeySchema = z.object({ name: modelNameSchema, alias: z.string({ error: "alias is required" }).min(1).max(255), team });

export const createVersionSchema = z.object({
  name: modelNameSchema,
  source: z.string({ error: "source is required" }).min(1, "source must not be empty").max(2000),
  run_id: z.string().regex(/^[0-9a-f]{32}$/, "run_id must be a 32-character run id").optional().or(z.literal("").transform(() => undefined)),
  model_id: z.string().max(100).optional(),
  tags: z.array(tagSchema).max(100).optional(),
  run_link: z.string().max(2000).optional(),
  description: description.optional(),
  team,
});
export const versionQuery = z.object({ name: modelNameSchema, version: versionSchema, team });
export const updateVersionSchema = z.object({ name: modelNameSchema, version: versionSchema, description: description.optional().default(""), team });
export const versionTagSchema = z.object({ name: modelNameSchema, version: versionSchema, key: tagSchema.shape.key, value: tagSchema.shape.value, team });
export const versionTagKeySchema = z.object({ name: modelNameSchema, version: versionSchema, key: tagSchema.shape.key, team });
export const transitionStageSchema = z.object({
  name: modelNameSchema,
  version: versionSchema,
  stage: z.string({ error: "stage is required" }).min(1),
  archive_existing_versions: z.union([z.boolean(), z.enum(["true", "false"]).transform((s) => s === "true")]).optional().default(false),
  team,
});
export const searchVersionsSchema = z.object({
  filter: z.string().max(10_000).optional(),
  max_results: maxResults(10_000, 200_000),
  order_by: orderBy,
  page_token: z.string().optional(),
  team,
});

/** Cairn's UI/API: protected aliases of a team. */
export const protectedAliasesSchema = z.object({
  team: z.string().min(1),
  protected_aliases: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "aliases use letters, digits, '_' or '-'")).max(20),
});

/** GET /api/v1/models and /api/v1/models/{name}. */
export const listModelsQuery = z.object({ team, q: z.string().max(200).optional() });
export const modelTeamQuery = z.object({ team });

/** Portal server actions. */
const modelTarget = z.object({ team: z.string().min(1).max(64), name: modelNameSchema });
export const describeModelAction = z.strictObject({ target: modelTarget, text: description });
export const describeVersionAction = z.strictObject({ target: modelTarget.extend({ version: versionSchema }), text: description });
export const setAliasAction = z.strictObject({ team: z.string().min(1).max(64), name: modelNameSchema, alias: z.string().trim().min(1, "Name the alias").max(255), version: versionSchema });
export const deleteAliasAction = z.strictObject({ team: z.string().min(1).max(64), name: modelNameSchema, alias: z.string().min(1).max(255) });
export const stageAction = z.strictObject({ team: z.string().min(1).max(64), name: modelNameSchema, version: versionSchema, stage: z.enum(["None", "Staging", "Production", "Archived"]) });
export const registerFromRunAction = z.strictObject({
  runId: z.string().regex(/^[0-9a-f]{32}$/),
  path: z.string().max(1000),
  name: modelNameSchema,
});

/** POST /api/v1/runs/{id}/register: a run's model folder as a new version of `name` (created when missing). */
export const registerRunBody = z.strictObject({
  name: modelNameSchema,
  path: z.string().max(1000, "path is longer than 1000 characters").default("model"),
  description: z.string().max(5000, "description is longer than 5000 characters").optional(),
});
