// The MLflow model registry REST API (/api/2.0/mlflow/registered-models/…, …/model-versions/…): each
// endpoint parses MLflow's request shape and calls one registry service.
import * as r from "@/lib/schemas/registry";
import { deleteAlias, getVersionByAlias, setAlias } from "../registry/aliases";
import {
  createRegisteredModel, deleteRegisteredModel, deleteRegisteredModelTag, getLatestVersions, getRegisteredModel, renameRegisteredModel,
  searchRegisteredModels, setRegisteredModelTag, updateRegisteredModel,
} from "../registry/models";
import {
  createModelVersion, deleteModelVersion, deleteModelVersionTag, getDownloadUri, getModelVersion, searchModelVersions, setModelVersionTag,
  transitionStage, updateModelVersion,
} from "../registry/versions";
import type { Endpoint } from "./endpoint";
import { ep } from "./endpoint";

const EMPTY = {};
const team = (b: { team?: string }) => ({ team: b.team });

export const REGISTRY_ENDPOINTS: Endpoint[] = [
  // registered models
  ep("POST", "registered-models/create", r.createModelSchema, async (ctx, b) => ({ registered_model: await createRegisteredModel(ctx, b) })),
  ep("GET", "registered-models/get", r.modelNameQuery, async (ctx, q) => ({ registered_model: await getRegisteredModel(ctx, q.name, team(q)) })),
  ep("POST", "registered-models/rename", r.renameModelSchema, async (ctx, b) => ({ registered_model: await renameRegisteredModel(ctx, b.name, b.new_name, team(b)) })),
  ep("PATCH", "registered-models/update", r.updateModelSchema, async (ctx, b) => ({ registered_model: await updateRegisteredModel(ctx, b.name, b.description, team(b)) })),
  ep("DELETE", "registered-models/delete", r.modelNameQuery, async (ctx, b) => { await deleteRegisteredModel(ctx, b.name, team(b)); return EMPTY; }),
  ep("GET", "registered-models/search", r.searchModelsSchema, (ctx, q) => searchRegisteredModels(ctx, q)),
  ep("POST", "registered-models/search", r.searchModelsSchema, (ctx, q) => searchRegisteredModels(ctx, q)),
  ep("POST", "registered-models/get-latest-versions", r.latestVersionsSchema, async (ctx, b) => ({ model_versions: await getLatestVersions(ctx, b.name, b.stages, team(b)) })),
  ep("GET", "registered-models/get-latest-versions", r.latestVersionsSchema, async (ctx, b) => ({ model_versions: await getLatestVersions(ctx, b.name, b.stages, team(b)) })),
  ep("POST", "registered-models/set-tag", r.modelTagSchema, async (ctx, b) => { await setRegisteredModelTag(ctx, b.name, b.key, b.value, team(b)); return EMPTY; }),
  ep("DELETE", "registered-models/delete-tag", r.modelTagKeySchema, async (ctx, b) => { await deleteRegisteredModelTag(ctx, b.name, b.key, team(b)); return EMPTY; }),
  ep("POST", "registered-models/alias", r.aliasSchema, async (ctx, b) => { await setAlias(ctx, b); return EMPTY; }),
  ep("DELETE", "registered-models/alias", r.aliasKeySchema, async (ctx, b) => { await deleteAlias(ctx, b); return EMPTY; }),
  ep("GET", "registered-models/alias", r.aliasKeySchema, async (ctx, q) => ({ model_version: await getVersionByAlias(ctx, q) })),
  // model versions
  ep("POST", "model-versions/create", r.createVersionSchema, async (ctx, b) => ({ model_version: await createModelVersion(ctx, b) })),
  ep("GET", "model-versions/get", r.versionQuery, async (ctx, q) => ({ model_version: await getModelVersion(ctx, q.name, q.version, team(q)) })),
  ep("PATCH", "model-versions/update", r.updateVersionSchema, async (ctx, b) => ({ model_version: await updateModelVersion(ctx, b.name, b.version, b.description, team(b)) })),
  ep("DELETE", "model-versions/delete", r.versionQuery, async (ctx, b) => { await deleteModelVersion(ctx, b.name, b.version, team(b)); return EMPTY; }),
  ep("GET", "model-versions/search", r.searchVersionsSchema, (ctx, q) => searchModelVersions(ctx, q)),
  ep("POST", "model-versions/search", r.searchVersionsSchema, (ctx, q) => searchModelVersions(ctx, q)),
  ep("GET", "model-versions/get-download-uri", r.versionQuery, (ctx, q) => getDownloadUri(ctx, q.name, q.version, team(q))),
  ep("POST", "model-versions/transition-stage", r.transitionStageSchema, async (ctx, b) => ({ model_version: await transitionStage(ctx, b) })),
  ep("POST", "model-versions/set-tag", r.versionTagSchema, async (ctx, b) => { await setModelVersionTag(ctx, b.name, b.version, b.key, b.value, team(b)); return EMPTY; }),
  ep("DELETE", "model-versions/delete-tag", r.versionTagKeySchema, async (ctx, b) => { await deleteModelVersionTag(ctx, b.name, b.version, b.key, team(b)); return EMPTY; }),
];
