// Contract tests of the MLflow model registry REST API, endpoint by endpoint through the real handler,
// with request bodies shaped like the official client's (see /work/shared/reference).
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../mlflow/test-client";
import { get, mlflow, post } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { aliasHistory } from "./aliases";
import type { ModelVersionDto, RegisteredModelDto, RunAt } from "./test-helpers";
import { createModel, createVersion, registerVersion, runWithModel, unique, versionsOf } from "./test-helpers";

const db = demoDatabase();
let ds = "";
let mle = "";
let at: RunAt;

beforeAll(async () => {
  [ds, mle] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn")]);
  at = await runWithModel(ds);
});

type ModelAnswer = { registered_model: RegisteredModelDto };
type VersionAnswer = { model_version: ModelVersionDto };
type ModelSearch = { registered_models: RegisteredModelDto[]; next_page_token?: string };
type VersionSearch = { model_versions: ModelVersionDto[]; next_page_token?: string };

function expectError(res: { status: number; json: unknown }, status: number, code: string, label = "") {
  expect(res.status, `${label} ${JSON.stringify(res.json)}`).toBe(status);
  expect((res.json as ErrorBody).error_code, label).toBe(code);
}

const del = (token: string, path: string, body: Record<string, unknown>) => mlflow(token, "DELETE", path, { body });
const patch = (token: string, path: string, body: Record<string, unknown>) => mlflow(token, "PATCH", path, { body });

describe("registered-models", () => {
  it("creates with tags and description; a duplicate is 400 RESOURCE_ALREADY_EXISTS; get answers the model", async () => {
    const name = unique("churn-clf");
    const created = await post<ModelAnswer>(ds, "registered-models/create", { name, tags: [{ key: "k", value: "v" }], description: "probe" });
    expect(created.status).toBe(200);
    expect(created.json.registered_model).toMatchObject({ name, description: "probe", tags: [{ key: "k", value: "v" }], latest_versions: [], aliases: [], team: "churn" });
    expect(created.json.registered_model.creation_timestamp).toBeGreaterThan(0);

    expectError(await post(ds, "registered-models/create", { name }), 400, "RESOURCE_ALREADY_EXISTS", "duplicate");
    const got = await get<ModelAnswer>(ds, "registered-models/get", { name });
    expect(got.status).toBe(200);
    expect(got.json.registered_model).toMatchObject({ name, description: "probe", tags: [{ key: "k", value: "v" }] });

    expectError(await get(ds, "registered-models/get", { name: unique("missing") }), 404, "RESOURCE_DOES_NOT_EXIST", "missing");
  });

  it("refuses malformed names and requests with INVALID_PARAMETER_VALUE", async () => {
    for (const name of ["", "   ", "a/b", "a:b", "a%2f", "x@champion", "..", "x".repeat(257)]) {
      expectError(await post(ds, "registered-models/create", { name }), 400, "INVALID_PARAMETER_VALUE", `name ${JSON.stringify(name)}`);
    }
    expectError(await post(ds, "registered-models/create", {}), 400, "INVALID_PARAMETER_VALUE", "no name");
    expectError(await get(ds, "registered-models/get", {}), 400, "INVALID_PARAMETER_VALUE", "get without name");
  });

  it("renames (ml engineer); the old name is gone, a clash is RESOURCE_ALREADY_EXISTS, versions follow the model", async () => {
    const name = unique("rename-me");
    const taken = unique("taken");
    await createModel(ds, name);
    await createModel(ds, taken);
    await registerVersion(ds, name, at);
    const newName = unique("renamed");
    const renamed = await post<ModelAnswer>(mle, "registered-models/rename", { name, new_name: newName });
    expect(renamed.status).toBe(200);
    expect(renamed.json.registered_model.name).toBe(newName);
    expect(renamed.json.registered_model.latest_versions.map((v) => [v.name, v.version])).toEqual([[newName, "1"]]);
    expectError(await get(ds, "registered-models/get", { name }), 404, "RESOURCE_DOES_NOT_EXIST", "old name");
    expect((await get<VersionAnswer>(ds, "model-versions/get", { name: newName, version: "1" })).json.model_version.name).toBe(newName);

    expectError(await post(mle, "registered-models/rename", { name: newName, new_name: taken }), 400, "RESOURCE_ALREADY_EXISTS", "clash");
    expect((await get(ds, "registered-models/get", { name: newName })).status).toBe(200);
    expectError(await post(mle, "registered-models/rename", { name: unique("nope"), new_name: unique("x") }), 404, "RESOURCE_DOES_NOT_EXIST", "missing");
  });

  it("updates the description (PATCH), sets and deletes tags", async () => {
    const name = unique("describe");
    await createModel(ds, name, { description: "before" });
    const updated = await patch(ds, "registered-models/update", { name, description: "# Churn\nafter" });
    expect(updated.status).toBe(200);
    expect((updated.json as ModelAnswer).registered_model.description).toBe("# Churn\nafter");

    expect((await post(ds, "registered-models/set-tag", { name, key: "owner", value: "dana" })).status).toBe(200);
    expect((await post(ds, "registered-models/set-tag", { name, key: "owner", value: "max" })).status).toBe(200);
    expect((await post(ds, "registered-models/set-tag", { name, key: "domain", value: "churn" })).status).toBe(200);
    let model = (await get<ModelAnswer>(ds, "registered-models/get", { name })).json.registered_model;
    expect(model.tags).toEqual([{ key: "domain", value: "churn" }, { key: "owner", value: "max" }]);
    expect(model.description).toBe("# Churn\nafter");

    expect((await del(ds, "registered-models/delete-tag", { name, key: "owner" })).status).toBe(200);
    model = (await get<ModelAnswer>(ds, "registered-models/get", { name })).json.registered_model;
    expect(model.tags).toEqual([{ key: "domain", value: "churn" }]);
    expectError(await del(ds, "registered-models/delete-tag", { name, key: "owner" }), 404, "RESOURCE_DOES_NOT_EXIST", "tag twice");
    expectError(await post(ds, "registered-models/set-tag", { name: unique("nope"), key: "a", value: "b" }), 404, "RESOURCE_DOES_NOT_EXIST", "tag missing model");
  });

  it("deletes (ml engineer) with its versions; afterwards the name is free again", async () => {
    const name = unique("delete-me");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    expect((await del(mle, "registered-models/delete", { name })).status).toBe(200);
    expectError(await get(ds, "registered-models/get", { name }), 404, "RESOURCE_DOES_NOT_EXIST", "deleted");
    expectError(await get(ds, "model-versions/get", { name, version: "1" }), 404, "RESOURCE_DOES_NOT_EXIST", "deleted version");
    expect(await versionsOf(ds, name)).toEqual([]);
    expectError(await del(mle, "registered-models/delete", { name }), 404, "RESOURCE_DOES_NOT_EXIST", "twice");
    const again = await createModel(ds, name);
    expect(again.latest_versions).toEqual([]);
    expect((await registerVersion(ds, name, at)).version).toBe("1");
  });

  it("searches by name, LIKE, ILIKE and tags., orders, and pages with page_token", async () => {
    const prefix = unique("Search");
    const names = [0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`);
    for (const [i, n] of names.entries()) await createModel(ds, n, { tags: [{ key: "tier", value: i % 2 ? "odd" : "even" }] });
    await createModel(ds, unique("unrelated"));

    const search = (body: Record<string, unknown>) => post<ModelSearch>(ds, "registered-models/search", body);
    const namesOf = (res: { json: ModelSearch }) => res.json.registered_models.map((m) => m.name);

    expect(namesOf(await search({ filter: `name = '${names[2]}'` }))).toEqual([names[2]]);
    expect(namesOf(await search({ filter: `name LIKE '${prefix}-%'`, max_results: 100 }))).toEqual(names);
    // LIKE is case-sensitive, ILIKE is not.
    expect(namesOf(await search({ filter: `name LIKE '${prefix.toLowerCase()}-%'` }))).toEqual([]);
    expect(namesOf(await search({ filter: `name ILIKE '${prefix.toLowerCase()}-%'` }))).toEqual(names);
    expect(namesOf(await search({ filter: `name LIKE '${prefix}-%' AND tags.tier = 'odd'` }))).toEqual([names[1], names[3]]);
    expect(namesOf(await search({ filter: `name LIKE '${prefix}-%' and tags.\`tier\` != 'odd'` }))).toEqual([names[0], names[2], names[4]]);
    expect(namesOf(await search({ filter: `name LIKE '${prefix}-%'`, order_by: ["name DESC"] }))).toEqual([...names].reverse());
    const byTime = namesOf(await search({ filter: `name LIKE '${prefix}-%'`, order_by: ["creation_timestamp DESC"] }));
    expect(byTime).toHaveLength(5);
    expect(byTime.at(-1)).toBe(names[0]);

    // GET form, as older clients send it.
    const viaGet = await get<ModelSearch>(ds, "registered-models/search", { filter: `name = '${names[4]}'`, max_results: 10 });
    expect(namesOf(viaGet)).toEqual([names[4]]);

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await search({ filter: `name LIKE '${prefix}-%'`, max_results: 2, ...(token ? { page_token: token } : {}) });
      expect(page.status).toBe(200);
      expect(page.json.registered_models.length).toBeLessThanOrEqual(2);
      seen.push(...namesOf(page));
      token = page.json.next_page_token;
      pages++;
    } while (token && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(names);
  });

  it("limits max_results and refuses bad filters, order_by and page tokens", async () => {
    // A filter's cost is bounded like the runs search's: at most 50 comparisons, no costly LIKE pattern.
    const many = Array.from({ length: 51 }, (_, i) => `tags.t${i} != 'x'`).join(" and ");
    for (const [path, filter, words] of [
      ["registered-models/search", many, "at most 50 comparisons"],
      ["model-versions/search", many, "at most 50 comparisons"],
      ["registered-models/search", `name LIKE '%${"a".repeat(300)}%'`, "at most 256 characters"],
    ] as const) {
      const res = await post(ds, path, { filter });
      expectError(res, 400, "INVALID_PARAMETER_VALUE", path);
      expect((res.json as ErrorBody).message).toContain(words);
    }
    expect((await post(ds, "registered-models/search", { max_results: 1000 })).status).toBe(200);
    expectError(await post(ds, "registered-models/search", { max_results: 1001 }), 400, "INVALID_PARAMETER_VALUE", "max 1001");
    expectError(await post(ds, "registered-models/search", { max_results: 0 }), 400, "INVALID_PARAMETER_VALUE", "max 0");
    expectError(await post(ds, "registered-models/search", { page_token: "not-a-token" }), 400, "INVALID_PARAMETER_VALUE", "token");
    expectError(await post(ds, "registered-models/search", { filter: "name = 'a' OR name = 'b'" }), 400, "INVALID_PARAMETER_VALUE", "OR");
    expectError(await post(ds, "registered-models/search", { filter: "name = 'a'; drop table registered_models" }), 400, "INVALID_PARAMETER_VALUE", "injection");
    expectError(await post(ds, "registered-models/search", { filter: "owner = 'a'" }), 400, "INVALID_PARAMETER_VALUE", "unknown field");
    expectError(await post(ds, "registered-models/search", { filter: "name = 'unclosed" }), 400, "INVALID_PARAMETER_VALUE", "unclosed");
    expectError(await post(ds, "registered-models/search", { order_by: ["password DESC"] }), 400, "INVALID_PARAMETER_VALUE", "order_by");
    expect((await post(ds, "model-versions/search", { max_results: 200_000 })).status).toBe(200);
    expectError(await post(ds, "model-versions/search", { max_results: 200_001 }), 400, "INVALID_PARAMETER_VALUE", "versions max");
    expectError(await post(ds, "model-versions/search", { filter: "version_number = 'x'" }), 400, "INVALID_PARAMETER_VALUE", "number field");
  });

  it("get-latest-versions answers the newest version per stage, filtered by stages", async () => {
    const name = unique("latest");
    await createModel(ds, name);
    for (let i = 0; i < 4; i++) await registerVersion(ds, name, at);
    await post(ds, "model-versions/transition-stage", { name, version: "1", stage: "Production", archive_existing_versions: false });
    await post(ds, "model-versions/transition-stage", { name, version: "2", stage: "Staging", archive_existing_versions: false });
    await post(ds, "model-versions/transition-stage", { name, version: "3", stage: "Staging", archive_existing_versions: false });

    const all = await post<{ model_versions: ModelVersionDto[] }>(ds, "registered-models/get-latest-versions", { name });
    expect(all.json.model_versions.map((v) => [v.version, v.current_stage])).toEqual([["1", "Production"], ["3", "Staging"], ["4", "None"]]);
    const prod = await post<{ model_versions: ModelVersionDto[] }>(ds, "registered-models/get-latest-versions", { name, stages: ["Production"] });
    expect(prod.json.model_versions.map((v) => v.version)).toEqual(["1"]);
    const viaGet = await get<{ model_versions: ModelVersionDto[] }>(ds, "registered-models/get-latest-versions", { name, stages: "staging" });
    expect(viaGet.json.model_versions.map((v) => v.version)).toEqual(["3"]);
    expectError(await post(ds, "registered-models/get-latest-versions", { name, stages: ["Prod"] }), 400, "INVALID_PARAMETER_VALUE", "bad stage");
    expectError(await post(ds, "registered-models/get-latest-versions", { name: unique("nope") }), 404, "RESOURCE_DOES_NOT_EXIST", "missing");
    const model = (await get<ModelAnswer>(ds, "registered-models/get", { name })).json.registered_model;
    expect(model.latest_versions.map((v) => v.version)).toEqual(["1", "3", "4"]);
  });
});

describe("registered-models/alias", () => {
  it("sets, gets and deletes an alias; get by alias answers the version with its aliases", async () => {
    const name = unique("alias");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    await registerVersion(ds, name, at);
    expect((await post(ds, "registered-models/alias", { name, alias: "champion", version: "2" })).status).toBe(200);

    const byAlias = await get<VersionAnswer>(ds, "registered-models/alias", { name, alias: "champion" });
    expect(byAlias.status).toBe(200);
    expect(byAlias.json.model_version).toMatchObject({ name, version: "2", aliases: ["champion"] });
    const model = (await get<ModelAnswer>(ds, "registered-models/get", { name })).json.registered_model;
    expect(model.aliases).toEqual([{ alias: "champion", version: "2" }]);

    expect((await del(ds, "registered-models/alias", { name, alias: "champion" })).status).toBe(200);
    expectError(await get(ds, "registered-models/alias", { name, alias: "champion" }), 404, "RESOURCE_DOES_NOT_EXIST", "after delete");
    expectError(await del(ds, "registered-models/alias", { name, alias: "champion" }), 404, "RESOURCE_DOES_NOT_EXIST", "delete twice");
  });

  it("refuses invalid aliases and versions that do not exist", async () => {
    const name = unique("alias-bad");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    for (const alias of ["latest", "v1", "V12", "has space", "a/b"]) {
      expectError(await post(ds, "registered-models/alias", { name, alias, version: "1" }), 400, "INVALID_PARAMETER_VALUE", alias);
    }
    expectError(await post(ds, "registered-models/alias", { name, alias: "champion", version: "7" }), 404, "RESOURCE_DOES_NOT_EXIST", "no version 7");
    expectError(await post(ds, "registered-models/alias", { name, alias: "champion", version: "abc" }), 400, "INVALID_PARAMETER_VALUE", "version abc");
    expect((await get<ModelAnswer>(ds, "registered-models/get", { name })).json.registered_model.aliases).toEqual([]);
  });
});

describe("model-versions", () => {
  it("creates from runs:/ and mlflow-artifacts:/ sources; get answers MLflow's ModelVersion", async () => {
    const name = unique("versions");
    await createModel(ds, name);
    const v1 = await createVersion(ds, { name, source: `runs:/${at.run}/model`, run_id: at.run });
    expect(v1.status).toBe(200);
    expect(v1.json.model_version).toMatchObject({
      name, version: "1", source: `runs:/${at.run}/model`, run_id: at.run, status: "READY", current_stage: "None", aliases: [], tags: [], team: "churn",
      user_id: DEMO.ds, storage_location: `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/model`,
    });
    const v2 = await createVersion(ds, {
      name, source: `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/model`, run_id: at.run,
      tags: [{ key: "git", value: "abc123" }], description: "second", run_link: "https://ci.example.com/1",
    });
    expect(v2.status).toBe(200);
    expect(v2.json.model_version).toMatchObject({ version: "2", description: "second", tags: [{ key: "git", value: "abc123" }], run_link: "https://ci.example.com/1" });

    const got = await get<VersionAnswer>(ds, "model-versions/get", { name, version: "2" });
    expect(got.status).toBe(200);
    expect(got.json.model_version).toEqual(v2.json.model_version);
    expectError(await get(ds, "model-versions/get", { name, version: "3" }), 404, "RESOURCE_DOES_NOT_EXIST", "no v3");
    expectError(await get(ds, "model-versions/get", { name, version: "0" }), 400, "INVALID_PARAMETER_VALUE", "v0");
    expectError(await get(ds, "model-versions/get", { name, version: "-1" }), 400, "INVALID_PARAMETER_VALUE", "v-1");
    expectError(await createVersion(ds, { name: unique("nope"), source: `runs:/${at.run}/model` }), 404, "RESOURCE_DOES_NOT_EXIST", "missing model");
    expectError(await createVersion(ds, { name }), 400, "INVALID_PARAMETER_VALUE", "no source");
  });

  it("get-download-uri answers the resolved location in the team's artifacts", async () => {
    const name = unique("download");
    await createModel(ds, name);
    await createVersion(ds, { name, source: `runs:/${at.run}/model`, run_id: at.run });
    const uri = await get<{ artifact_uri: string }>(ds, "model-versions/get-download-uri", { name, version: "1" });
    expect(uri.status).toBe(200);
    expect(uri.json).toEqual({ artifact_uri: `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/model` });
    expectError(await get(ds, "model-versions/get-download-uri", { name, version: "2" }), 404, "RESOURCE_DOES_NOT_EXIST", "no v2");
  });

  it("updates the description (PATCH), sets and deletes version tags", async () => {
    const name = unique("vtags");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    const updated = await patch(ds, "model-versions/update", { name, version: "1", description: "validated on Q3" });
    expect(updated.status).toBe(200);
    expect((updated.json as VersionAnswer).model_version.description).toBe("validated on Q3");

    expect((await post(ds, "model-versions/set-tag", { name, version: "1", key: "validated", value: "yes" })).status).toBe(200);
    expect((await post(ds, "model-versions/set-tag", { name, version: 1, key: "validated", value: "no" })).status).toBe(200);
    let v = (await get<VersionAnswer>(ds, "model-versions/get", { name, version: "1" })).json.model_version;
    expect(v.tags).toEqual([{ key: "validated", value: "no" }]);
    expect((await del(ds, "model-versions/delete-tag", { name, version: "1", key: "validated" })).status).toBe(200);
    v = (await get<VersionAnswer>(ds, "model-versions/get", { name, version: "1" })).json.model_version;
    expect(v.tags).toEqual([]);
    expect(v.description).toBe("validated on Q3");
    expectError(await del(ds, "model-versions/delete-tag", { name, version: "1", key: "validated" }), 404, "RESOURCE_DOES_NOT_EXIST", "twice");
    expectError(await post(ds, "model-versions/set-tag", { name, version: "9", key: "a", value: "b" }), 404, "RESOURCE_DOES_NOT_EXIST", "no v9");
  });

  it("transition-stage sets MLflow's stages; archive_existing_versions archives the others in that stage only", async () => {
    const name = unique("stages");
    await createModel(ds, name);
    for (let i = 0; i < 4; i++) await registerVersion(ds, name, at);
    const to = (version: string, stage: string, archive = false) =>
      post<VersionAnswer>(ds, "model-versions/transition-stage", { name, version, stage, archive_existing_versions: archive });

    expect((await to("1", "Production")).json.model_version.current_stage).toBe("Production");
    expect((await to("2", "staging")).json.model_version.current_stage).toBe("Staging");
    expect((await to("3", "Production")).json.model_version.current_stage).toBe("Production");
    const stageOf = async () => {
      const res = await post<VersionSearch>(ds, "model-versions/search", { filter: `name = '${name}'`, order_by: ["version_number ASC"] });
      return res.json.model_versions.map((v) => v.current_stage);
    };
    expect(await stageOf()).toEqual(["Production", "Staging", "Production", "None"]);

    const moved = await to("4", "Production", true);
    expect(moved.status).toBe(200);
    expect(await stageOf()).toEqual(["Archived", "Staging", "Archived", "Production"]);
    expectError(await to("4", "Deployed"), 400, "INVALID_PARAMETER_VALUE", "bad stage");
    expectError(await to("9", "Staging"), 404, "RESOURCE_DOES_NOT_EXIST", "no v9");
    expect(await stageOf()).toEqual(["Archived", "Staging", "Archived", "Production"]);
  });

  it("deletes a version (ml engineer); numbers are never reused", async () => {
    const name = unique("reuse");
    await createModel(ds, name);
    for (let i = 0; i < 3; i++) await registerVersion(ds, name, at);
    expect((await del(mle, "model-versions/delete", { name, version: "3" })).status).toBe(200);
    expect((await del(mle, "model-versions/delete", { name, version: "2" })).status).toBe(200);
    expectError(await get(ds, "model-versions/get", { name, version: "3" }), 404, "RESOURCE_DOES_NOT_EXIST", "deleted v3");
    expectError(await del(mle, "model-versions/delete", { name, version: "3" }), 404, "RESOURCE_DOES_NOT_EXIST", "twice");
    expect(await versionsOf(ds, name)).toEqual(["1"]);
    expect((await registerVersion(ds, name, at)).version).toBe("4");
    expect(await versionsOf(ds, name)).toEqual(["1", "4"]);
  });

  it("deleting a version removes its aliases, leaves the others, and records the alias events", async () => {
    const name = unique("alias-del");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    await registerVersion(ds, name, at);
    expect((await post(ds, "registered-models/alias", { name, alias: "champion", version: "2" })).status).toBe(200);
    expect((await post(ds, "registered-models/alias", { name, alias: "challenger", version: "2" })).status).toBe(200);
    expect((await post(ds, "registered-models/alias", { name, alias: "baseline", version: "1" })).status).toBe(200);

    expect((await del(mle, "model-versions/delete", { name, version: "2" })).status).toBe(200);
    const model = (await get<ModelAnswer>(ds, "registered-models/get", { name })).json.registered_model;
    expect(model.aliases).toEqual([{ alias: "baseline", version: "1" }]);
    expectError(await get(ds, "registered-models/alias", { name, alias: "champion" }), 404, "RESOURCE_DOES_NOT_EXIST", "champion gone");

    const history = await aliasHistory(await ctxFor(db(), DEMO.ds), name);
    const removals = history.filter((e) => e.via === "version-deleted").map((e) => [e.alias, e.from_version, e.to_version, e.actor]).sort();
    expect(removals).toEqual([
      ["challenger", 2, null, `${DEMO.mle} (token)`],
      ["champion", 2, null, `${DEMO.mle} (token)`],
    ]);
  });

  it("searches by name, run_id IN, version_number and tags, with order_by and pages", async () => {
    const name = unique("vsearch");
    const other = unique("vsearch-other");
    await createModel(ds, name);
    await createModel(ds, other);
    const at2 = await runWithModel(ds);
    await registerVersion(ds, name, at, { tags: [{ key: "cv", value: "0.91" }] });
    await registerVersion(ds, name, at2, { tags: [{ key: "cv", value: "0.88" }] });
    await registerVersion(ds, name, at2);
    await registerVersion(ds, other, at);

    const search = (body: Record<string, unknown>) => post<VersionSearch>(ds, "model-versions/search", body);
    const pairs = (res: { json: VersionSearch }) => res.json.model_versions.map((v) => `${v.name === name ? "m" : "o"}${v.version}`);

    // MLflow orders by name, then newest version first.
    expect(pairs(await search({ filter: `name = '${name}'` }))).toEqual(["m3", "m2", "m1"]);
    expect(pairs(await search({ filter: `name = '${name}' AND run_id = '${at2.run}'` }))).toEqual(["m3", "m2"]);
    expect(pairs(await search({ filter: `run_id IN ('${at.run}', '${at2.run}') AND name IN ('${name}', '${other}')`, order_by: ["version_number ASC"] })).sort())
      .toEqual(["m1", "m2", "m3", "o1"]);
    expect(pairs(await search({ filter: `run_id = '${at.run}' AND name IN ('${name}', '${other}')` })).sort()).toEqual(["m1", "o1"]);
    expect(pairs(await search({ filter: `name = '${name}' AND run_id NOT IN ('${at.run}')` }))).toEqual(["m3", "m2"]);
    expect(pairs(await search({ filter: `name = '${name}' AND version_number >= 2` }))).toEqual(["m3", "m2"]);
    expect(pairs(await search({ filter: `name = '${name}' AND version_number = 1` }))).toEqual(["m1"]);
    expect(pairs(await search({ filter: `name = '${name}' AND tags.cv = '0.88'` }))).toEqual(["m2"]);
    expect(pairs(await search({ filter: `name = '${name}' AND tags.cv LIKE '0.%'` }))).toEqual(["m2", "m1"]);
    expect(pairs(await search({ filter: `name = '${name}'`, order_by: ["version_number ASC"] }))).toEqual(["m1", "m2", "m3"]);
    expect(pairs(await search({ filter: `name = '${name}' AND run_id = '${"0".repeat(32)}'` }))).toEqual([]);
    const viaGet = await get<VersionSearch>(ds, "model-versions/search", { filter: `name='${other}'` });
    expect(pairs(viaGet)).toEqual(["o1"]);

    const first = await search({ filter: `name = '${name}'`, max_results: 2 });
    expect(pairs(first)).toEqual(["m3", "m2"]);
    expect(first.json.next_page_token).toBeTruthy();
    const second = await search({ filter: `name = '${name}'`, max_results: 2, page_token: first.json.next_page_token });
    expect(pairs(second)).toEqual(["m1"]);
    expect(second.json.next_page_token).toBeUndefined();
  });
});

describe("permissions", () => {
  it("a data scientist registers, tags, stages and moves champion, but cannot rename or delete (write_data)", async () => {
    const name = unique("ds-perms");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    expect((await post(ds, "registered-models/set-tag", { name, key: "a", value: "b" })).status).toBe(200);
    expect((await post(ds, "model-versions/set-tag", { name, version: "1", key: "a", value: "b" })).status).toBe(200);
    expect((await post(ds, "model-versions/transition-stage", { name, version: "1", stage: "Staging" })).status).toBe(200);
    expect((await post(ds, "registered-models/alias", { name, alias: "champion", version: "1" })).status).toBe(200);
    expect((await patch(ds, "registered-models/update", { name, description: "mine" })).status).toBe(200);

    const rename = await post<ErrorBody>(ds, "registered-models/rename", { name, new_name: unique("stolen") });
    expectError(rename, 403, "PERMISSION_DENIED", "rename");
    expect(rename.json.message).toContain("write_data");
    expectError(await del(ds, "registered-models/delete", { name }), 403, "PERMISSION_DENIED", "delete model");
    expectError(await del(ds, "model-versions/delete", { name, version: "1" }), 403, "PERMISSION_DENIED", "delete version");
    expect((await get(ds, "registered-models/get", { name })).status).toBe(200);
    expect(await versionsOf(ds, name)).toEqual(["1"]);

    // The ml engineer may.
    expect((await del(mle, "registered-models/alias", { name, alias: "champion" })).status).toBe(200);
    expect((await del(mle, "model-versions/delete", { name, version: "1" })).status).toBe(200);
    const newName = unique("mle-renamed");
    expect((await post(mle, "registered-models/rename", { name, new_name: newName })).status).toBe(200);
    expect((await del(mle, "registered-models/delete", { name: newName })).status).toBe(200);
    expectError(await get(ds, "registered-models/get", { name: newName }), 404, "RESOURCE_DOES_NOT_EXIST", "gone");
  });
});

describe("concurrency", () => {
  it("10 concurrent model-versions/create on one model yield versions 1..10, no gaps or duplicates", async () => {
    const name = unique("concurrent");
    await createModel(ds, name);
    const answers = await Promise.all(Array.from({ length: 10 }, () => createVersion(ds, { name, source: `runs:/${at.run}/model`, run_id: at.run })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const numbers = answers.map((a) => Number(a.json.model_version.version)).sort((a, b) => a - b);
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await versionsOf(ds, name)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    expect((await registerVersion(ds, name, at)).version).toBe("11");
  });
});
