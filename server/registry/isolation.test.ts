// Cross-team isolation of the registry: model names are per team, a fraud token neither sees nor
// changes churn's models (reads answer 404, existence is not revealed), and a session in several teams
// must say which team a same-named model belongs to.
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { memberships, teams, users } from "@/db/schema";
import type { ErrorBody } from "../mlflow/test-client";
import { get, mlflow, post } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { getVersionByAlias } from "./aliases";
import { getRegisteredModel, searchRegisteredModels } from "./models";
import { createModelVersion, getModelVersion, searchModelVersions } from "./versions";
import type { ModelVersionDto, RegisteredModelDto, RunAt } from "./test-helpers";
import { createModel, registerVersion, runWithModel, unique } from "./test-helpers";

const db = demoDatabase();
let churn = "";
let fraud = "";
let fraudLead = "";
let admin = "";
let churnRun: RunAt;
let fraudRun: RunAt;
let secret = "";
let shared = "";

type ModelAnswer = { registered_model: RegisteredModelDto };
type ModelSearch = { registered_models: RegisteredModelDto[] };
type VersionSearch = { model_versions: ModelVersionDto[] };

function expectHidden(res: { status: number; json: unknown }, label: string) {
  expect(res.status, `${label}: ${JSON.stringify(res.json)}`).toBe(404);
  expect((res.json as ErrorBody).error_code, label).toBe("RESOURCE_DOES_NOT_EXIST");
  // The answer is the same as for a name that does not exist: nothing says churn owns it.
  expect((res.json as ErrorBody).message, label).not.toMatch(/team churn|churn only|permission|not allowed/i);
}

function expectRefused(res: { status: number; json: unknown }, label: string) {
  // A write about another team's object answers like a read: its existence is not revealed.
  expect(res.status, `${label}: ${JSON.stringify(res.json)}`).toBe(404);
  expect((res.json as ErrorBody).error_code, label).toBe("RESOURCE_DOES_NOT_EXIST");
}

beforeAll(async () => {
  [churn, fraud, fraudLead, admin] = await Promise.all([
    tokenFor(db(), DEMO.mle, "churn"),
    tokenFor(db(), DEMO.dsFraud, "fraud"),
    tokenFor(db(), DEMO.leadFraud, "fraud"),
    tokenFor(db(), DEMO.admin, "vision"),
  ]);
  churnRun = await runWithModel(churn, "iso-churn");
  fraudRun = await runWithModel(fraud, "iso-fraud");
  secret = unique("secret-model");
  await createModel(churn, secret, { description: "churn only", tags: [{ key: "owner", value: "churn" }] });
  await registerVersion(churn, secret, churnRun, { tags: [{ key: "owner", value: "churn" }] });
  await registerVersion(churn, secret, churnRun);
  expect((await post(churn, "registered-models/alias", { name: secret, alias: "champion", version: "1" })).status).toBe(200);
  expect((await post(churn, "model-versions/transition-stage", { name: secret, version: "2", stage: "Staging" })).status).toBe(200);

  shared = unique("shared-name");
  await createModel(churn, shared, { description: "churn's" });
  await registerVersion(churn, shared, churnRun);
  await createModel(fraud, shared, { description: "fraud's" });
});

describe("model names are per team", () => {
  it("churn and fraud both own a model of the same name, each with its own versions", async () => {
    const mine = await get<ModelAnswer>(fraud, "registered-models/get", { name: shared });
    expect(mine.json.registered_model).toMatchObject({ name: shared, description: "fraud's", team: "fraud", latest_versions: [] });
    const theirs = await get<ModelAnswer>(churn, "registered-models/get", { name: shared });
    expect(theirs.json.registered_model).toMatchObject({ name: shared, description: "churn's", team: "churn" });
    expect(theirs.json.registered_model.latest_versions.map((v) => v.version)).toEqual(["1"]);

    const v = await registerVersion(fraud, shared, fraudRun);
    expect(v).toMatchObject({ version: "1", team: "fraud", run_id: fraudRun.run });
    expect((await get<{ model_version: ModelVersionDto }>(churn, "model-versions/get", { name: shared, version: "1" })).json.model_version.run_id).toBe(churnRun.run);
    // A duplicate within one team is still refused.
    expect((await post<ErrorBody>(fraud, "registered-models/create", { name: shared })).json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
  });
});

describe("a fraud token reading churn's models", () => {
  it("gets 404 on get, versions, download URI, aliases and latest versions", async () => {
    expectHidden(await get(fraud, "registered-models/get", { name: secret }), "registered-models/get");
    expectHidden(await get(fraud, "registered-models/get", { name: secret, team: "churn" }), "registered-models/get team=churn");
    expectHidden(await get(fraud, "model-versions/get", { name: secret, version: "1" }), "model-versions/get");
    expectHidden(await get(fraud, "model-versions/get-download-uri", { name: secret, version: "1" }), "get-download-uri");
    expectHidden(await get(fraud, "registered-models/alias", { name: secret, alias: "champion" }), "alias get");
    expectHidden(await post(fraud, "registered-models/get-latest-versions", { name: secret, stages: ["Staging"] }), "get-latest-versions");
    expectHidden(await get(fraudLead, "registered-models/get", { name: secret }), "lead registered-models/get");
  });

  it("sees none of churn's models or versions in search, with or without filters", async () => {
    const models = await post<ModelSearch>(fraud, "registered-models/search", { max_results: 1000 });
    expect(models.status).toBe(200);
    expect(models.json.registered_models.length).toBeGreaterThan(0);
    expect(models.json.registered_models.every((m) => m.team === "fraud")).toBe(true);
    expect(models.json.registered_models.map((m) => m.name)).not.toContain(secret);
    expect((await post<ModelSearch>(fraud, "registered-models/search", { filter: `name = '${secret}'` })).json.registered_models).toEqual([]);
    expect((await post<ModelSearch>(fraud, "registered-models/search", { filter: "tags.owner = 'churn'" })).json.registered_models).toEqual([]);
    expect((await get<ModelSearch>(fraud, "registered-models/search", { filter: `name LIKE 'secret-model%'` })).json.registered_models).toEqual([]);
    const sharedOnly = await post<ModelSearch>(fraud, "registered-models/search", { filter: `name = '${shared}'` });
    expect(sharedOnly.json.registered_models.map((m) => [m.team, m.description])).toEqual([["fraud", "fraud's"]]);

    const versions = await post<VersionSearch>(fraud, "model-versions/search", {});
    expect(versions.status).toBe(200);
    expect(versions.json.model_versions.length).toBeGreaterThan(0);
    expect(versions.json.model_versions.every((v) => v.team === "fraud")).toBe(true);
    for (const filter of [`name = '${secret}'`, `run_id = '${churnRun.run}'`, `run_id IN ('${churnRun.run}', '${fraudRun.run}') AND name = '${secret}'`, "tags.owner = 'churn'", "version_number >= 1 AND current_stage = 'Staging'"]) {
      const res = await post<VersionSearch>(fraud, "model-versions/search", { filter });
      expect(res.json.model_versions.filter((v) => v.team !== "fraud"), filter).toEqual([]);
      expect(res.json.model_versions.map((v) => v.run_id), filter).not.toContain(churnRun.run);
    }
    const sharedVersions = await get<VersionSearch>(fraud, "model-versions/search", { filter: `name = '${shared}'` });
    expect(sharedVersions.json.model_versions.map((v) => [v.team, v.run_id])).toEqual([["fraud", fraudRun.run]]);
    // Naming churn does not widen the search.
    expectHidden(await post(fraud, "model-versions/search", { team: "churn" }), "versions search team=churn");
    expectHidden(await post(fraud, "registered-models/search", { team: "churn" }), "models search team=churn");
  });
});

describe("a fraud token writing churn's models", () => {
  it("is refused and changes nothing", async () => {
    const writes: [string, Promise<{ status: number; json: unknown }>][] = [
      ["rename", post(fraudLead, "registered-models/rename", { name: secret, new_name: "pwned" })],
      ["update", mlflow(fraud, "PATCH", "registered-models/update", { body: { name: secret, description: "pwned" } })],
      ["delete", mlflow(fraudLead, "DELETE", "registered-models/delete", { body: { name: secret } })],
      ["set-tag", post(fraud, "registered-models/set-tag", { name: secret, key: "owner", value: "fraud" })],
      ["delete-tag", mlflow(fraud, "DELETE", "registered-models/delete-tag", { body: { name: secret, key: "owner" } })],
      ["alias set", post(fraud, "registered-models/alias", { name: secret, alias: "champion", version: "2" })],
      ["alias delete", mlflow(fraud, "DELETE", "registered-models/alias", { body: { name: secret, alias: "champion" } })],
      ["versions create", post(fraud, "model-versions/create", { name: secret, source: `runs:/${fraudRun.run}/model`, run_id: fraudRun.run })],
      ["versions create team=churn", post(fraud, "model-versions/create", { name: secret, source: `runs:/${fraudRun.run}/model`, team: "churn" })],
      ["versions update", mlflow(fraud, "PATCH", "model-versions/update", { body: { name: secret, version: "1", description: "pwned" } })],
      ["versions delete", mlflow(fraudLead, "DELETE", "model-versions/delete", { body: { name: secret, version: "1" } })],
      ["versions set-tag", post(fraud, "model-versions/set-tag", { name: secret, version: "1", key: "owner", value: "fraud" })],
      ["versions delete-tag", mlflow(fraud, "DELETE", "model-versions/delete-tag", { body: { name: secret, version: "1", key: "owner" } })],
      ["transition-stage", post(fraud, "model-versions/transition-stage", { name: secret, version: "1", stage: "Archived", archive_existing_versions: true })],
      ["create in churn", post(fraud, "registered-models/create", { name: unique("planted"), team: "churn" })],
    ];
    for (const [label, pending] of writes) expectRefused(await pending, label);

    const model = (await get<ModelAnswer>(churn, "registered-models/get", { name: secret })).json.registered_model;
    expect(model).toMatchObject({ name: secret, description: "churn only", tags: [{ key: "owner", value: "churn" }], aliases: [{ alias: "champion", version: "1" }] });
    expect(model.latest_versions.map((v) => [v.version, v.current_stage])).toEqual([["1", "None"], ["2", "Staging"]]);
    const v1 = (await get<{ model_version: ModelVersionDto }>(churn, "model-versions/get", { name: secret, version: "1" })).json.model_version;
    expect(v1).toMatchObject({ description: "", tags: [{ key: "owner", value: "churn" }], current_stage: "None" });
    const all = await post<ModelSearch>(churn, "registered-models/search", { filter: "name LIKE 'planted-%'" });
    expect(all.json.registered_models).toEqual([]);
  });
});

describe("sessions in several teams", () => {
  it("an admin session must say which team a same-named model belongs to", async () => {
    const adminCtx = await ctxFor(db(), DEMO.admin);
    await expect(getRegisteredModel(adminCtx, shared)).rejects.toMatchObject({ code: "invalid_input", message: expect.stringMatching(/Say which team.*team=<slug>/) });
    await expect(getRegisteredModel(adminCtx, shared)).rejects.toThrow(/\(churn, fraud\)/);
    expect((await getRegisteredModel(adminCtx, shared, { team: "fraud" })).description).toBe("fraud's");
    expect((await getRegisteredModel(adminCtx, shared, { team: "churn" })).description).toBe("churn's");
    // A unique name needs no team.
    expect((await getRegisteredModel(adminCtx, secret)).team).toBe("churn");
    // Over the API, an admin token acts in its token's team unless it names one.
    expectHidden(await get(admin, "registered-models/get", { name: secret }), "admin token in vision");
    expect((await get<ModelAnswer>(admin, "registered-models/get", { name: secret, team: "churn" })).json.registered_model.team).toBe("churn");
  });

  it("a member of churn and fraud gets a clear error unless team is given; search covers both teams", async () => {
    const [user] = await db().select({ id: users.id }).from(users).where(eq(users.email, DEMO.mle));
    const [fraudTeam] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "fraud"));
    await db().insert(memberships).values({ userId: user!.id, teamId: fraudTeam!.id, role: "data_scientist" });
    const both = await ctxFor(db(), DEMO.mle);
    expect(both.actor.memberships.map((m) => m.teamSlug).sort()).toEqual(["churn", "fraud"]);

    await expect(getRegisteredModel(both, shared)).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("Say which team") });
    await expect(getModelVersion(both, shared, 1)).rejects.toMatchObject({ code: "invalid_input" });
    await expect(createModelVersion(both, { name: shared, source: `runs:/${churnRun.run}/model` })).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("Say which team") });
    expect((await getModelVersion(both, shared, 1, { team: "fraud" })).run_id).toBe(fraudRun.run);
    expect((await getModelVersion(both, shared, 1, { team: "churn" })).run_id).toBe(churnRun.run);
    expect((await getVersionByAlias(both, { name: secret, alias: "champion" })).version).toBe("1");

    const found = await searchRegisteredModels(both, { filter: `name = '${shared}'`, max_results: 10 });
    expect(found.registered_models.map((m) => m.team).sort()).toEqual(["churn", "fraud"]);
    const onlyFraud = await searchModelVersions(both, { filter: `name = '${shared}'`, max_results: 10, team: "fraud" });
    expect(onlyFraud.model_versions.map((v) => v.team)).toEqual(["fraud"]);

    // Registering into fraud's model from churn's run is refused even for a member of both teams.
    await expect(createModelVersion(both, { name: shared, source: `runs:/${churnRun.run}/model`, team: "fraud" })).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("belongs to team churn") });
  });
});
