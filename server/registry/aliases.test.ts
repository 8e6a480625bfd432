// Aliases: protected ones (production by default) move only through the production approval workflow,
// for every role; unprotected ones (champion) move freely and every move is in the alias history.
import { beforeAll, describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { modelAliasEvents, modelAliases, registeredModels, teams } from "@/db/schema";
import type { ErrorBody } from "../mlflow/test-client";
import { get, mlflow, post } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { aliasHistory, deleteAlias, setAlias } from "./aliases";
import { getProtectedAliases, setProtectedAliases } from "./models";
import type { ModelVersionDto, RegisteredModelDto, RunAt } from "./test-helpers";
import { createModel, registerVersion, runWithModel, unique, versionsOf } from "./test-helpers";

const db = demoDatabase();
let ds = "";
let mle = "";
let lead = "";
let admin = "";
let at: RunAt;

beforeAll(async () => {
  [ds, mle, lead, admin] = await Promise.all([
    tokenFor(db(), DEMO.ds, "churn"),
    tokenFor(db(), DEMO.mle, "churn"),
    tokenFor(db(), DEMO.lead, "churn"),
    tokenFor(db(), DEMO.admin, "vision"),
  ]);
  at = await runWithModel(ds, "alias");
});

const del = (token: string, path: string, body: Record<string, unknown>) => mlflow<ErrorBody>(token, "DELETE", path, { body });

async function modelWithVersions(n: number): Promise<string> {
  const name = unique("aliases");
  await createModel(ds, name);
  for (let i = 0; i < n; i++) await registerVersion(ds, name, at);
  return name;
}

const aliasesOf = async (name: string) => (await get<{ registered_model: RegisteredModelDto }>(ds, "registered-models/get", { name })).json.registered_model.aliases;

/** What the production approval workflow does when a lead approves: the alias row and its event. */
async function approveProduction(name: string, version: number): Promise<void> {
  const [row] = await db()
    .select({ id: registeredModels.id })
    .from(registeredModels)
    .innerJoin(teams, eq(teams.id, registeredModels.teamId))
    .where(and(eq(registeredModels.name, name), eq(teams.slug, "churn")));
  const now = Date.now();
  await db().insert(modelAliases).values({ modelId: row!.id, alias: "production", version, updatedBy: DEMO.lead, updatedTime: now });
  await db().insert(modelAliasEvents).values({ modelId: row!.id, alias: "production", fromVersion: null, toVersion: version, actor: DEMO.lead, via: "approval", time: now });
}

describe("the protected production alias", () => {
  it("cannot be set or deleted through the API by any role, in any spelling", async () => {
    const name = await modelWithVersions(1);
    const callers: [string, string, Record<string, unknown>][] = [
      ["data scientist", ds, {}],
      ["ml engineer", mle, {}],
      ["team lead", lead, {}],
      ["admin", admin, { team: "churn" }],
    ];
    for (const [who, token, extra] of callers) {
      for (const alias of ["production", "Production", "PRODUCTION"]) {
        const set = await post<ErrorBody>(token, "registered-models/alias", { name, alias, version: "1", ...extra });
        expect(set.status, `${who} set ${alias}`).toBe(403);
        expect(set.json.error_code).toBe("PERMISSION_DENIED");
        expect(set.json.message).toMatch(/only through the production approval workflow/);
      }
      const removed = await del(token, "registered-models/alias", { name, alias: "production", ...extra });
      expect(removed.status, `${who} delete`).toBe(403);
      expect(removed.json.error_code).toBe("PERMISSION_DENIED");
      expect(removed.json.message).toMatch(/only through the production approval workflow/);
    }
    expect(await aliasesOf(name)).toEqual([]);
    expect(await aliasHistory(await ctxFor(db(), DEMO.ds), name)).toEqual([]);
  });

  it("is refused through the services too, for an admin session", async () => {
    const name = await modelWithVersions(1);
    const adminCtx = await ctxFor(db(), DEMO.admin);
    await expect(setAlias(adminCtx, { name, alias: "production", version: "1", team: "churn" })).rejects.toMatchObject({ code: "forbidden" });
    await expect(deleteAlias(adminCtx, { name, alias: "production", team: "churn" })).rejects.toMatchObject({ code: "forbidden" });
  });

  it("transition-stage to Production by a data scientist succeeds and creates or moves no alias", async () => {
    const name = await modelWithVersions(2);
    expect((await post(ds, "registered-models/alias", { name, alias: "champion", version: "1" })).status).toBe(200);
    const res = await post<{ model_version: ModelVersionDto }>(ds, "model-versions/transition-stage", { name, version: "2", stage: "Production", archive_existing_versions: true });
    expect(res.status).toBe(200);
    expect(res.json.model_version).toMatchObject({ version: "2", current_stage: "Production", aliases: [] });
    expect(await aliasesOf(name)).toEqual([{ alias: "champion", version: "1" }]);
    const history = await aliasHistory(await ctxFor(db(), DEMO.ds), name);
    expect(history.map((e) => [e.alias, e.from_version, e.to_version])).toEqual([["champion", null, 1]]);
    expect((await get(ds, "registered-models/alias", { name, alias: "production" })).status).toBe(404);
  });

  it("a version or model holding it cannot be deleted", async () => {
    const name = await modelWithVersions(2);
    await approveProduction(name, 2);
    expect(await aliasesOf(name)).toEqual([{ alias: "production", version: "2" }]);

    const version = await del(lead, "model-versions/delete", { name, version: "2" });
    expect(version.status).toBe(403);
    expect(version.json.error_code).toBe("PERMISSION_DENIED");
    expect(version.json.message).toMatch(/protected alias 'production'.*production approval workflow/);
    const model = await del(lead, "registered-models/delete", { name });
    expect(model.status).toBe(403);
    expect(model.json.message).toMatch(/protected alias 'production' points at version 2/);
    const asAdmin = await del(admin, "registered-models/delete", { name, team: "churn" });
    expect(asAdmin.status).toBe(403);

    expect(await versionsOf(ds, name)).toEqual(["1", "2"]);
    expect(await aliasesOf(name)).toEqual([{ alias: "production", version: "2" }]);
    // The other version is not held and may go.
    expect((await del(mle, "model-versions/delete", { name, version: "1" })).status).toBe(200);
    expect(await versionsOf(ds, name)).toEqual(["2"]);
  });
});

describe("the team's protected list", () => {
  it("a team lead changes it, a data scientist or ml engineer cannot; production always stays protected", async () => {
    const leadCtx = await ctxFor(db(), DEMO.lead);
    expect(await getProtectedAliases(leadCtx, "churn")).toEqual({ team: "churn", protected_aliases: ["production"] });
    await expect(setProtectedAliases(await ctxFor(db(), DEMO.ds), ["champion"], "churn")).rejects.toMatchObject({ code: "forbidden" });
    await expect(setProtectedAliases(await ctxFor(db(), DEMO.mle), ["champion"], "churn")).rejects.toMatchObject({ code: "forbidden" });
    // A fraud lead cannot change churn's list either.
    await expect(setProtectedAliases(await ctxFor(db(), DEMO.leadFraud), ["champion"], "churn")).rejects.toMatchObject({ code: "not_found" });
    expect((await getProtectedAliases(leadCtx, "churn")).protected_aliases).toEqual(["production"]);

    const name = await modelWithVersions(2);
    expect((await post(ds, "registered-models/alias", { name, alias: "gold", version: "1" })).status).toBe(200);
    const set = await setProtectedAliases(leadCtx, ["gold", " gold ", ""], "churn");
    expect(set).toEqual({ team: "churn", protected_aliases: ["gold", "production"] });
    try {
      const moved = await post<ErrorBody>(ds, "registered-models/alias", { name, alias: "gold", version: "2" });
      expect(moved.status).toBe(403);
      expect((await del(lead, "registered-models/alias", { name, alias: "gold" })).status).toBe(403);
      expect((await del(mle, "model-versions/delete", { name, version: "1" })).status).toBe(403);
      expect(await aliasesOf(name)).toEqual([{ alias: "gold", version: "1" }]);
      // Still protected: production cannot be dropped from the list.
      expect((await setProtectedAliases(leadCtx, [], "churn")).protected_aliases).toEqual(["production"]);
      expect((await post(lead, "registered-models/alias", { name, alias: "production", version: "1" })).status).toBe(403);
      // Fraud's list is its own.
      expect((await getProtectedAliases(await ctxFor(db(), DEMO.leadFraud), "fraud")).protected_aliases).toEqual(["production"]);
    } finally {
      await setProtectedAliases(leadCtx, ["production"], "churn");
    }
    // gold is free again.
    expect((await post(ds, "registered-models/alias", { name, alias: "gold", version: "2" })).status).toBe(200);
  });
});

describe("an unprotected alias", () => {
  it("moves freely and the history records every move (from → to, who)", async () => {
    const name = await modelWithVersions(3);
    expect((await post(ds, "registered-models/alias", { name, alias: "champion", version: "1" })).status).toBe(200);
    expect((await post(mle, "registered-models/alias", { name, alias: "champion", version: "3" })).status).toBe(200);
    // Setting it to where it already is, is no move.
    expect((await post(mle, "registered-models/alias", { name, alias: "champion", version: 3 })).status).toBe(200);
    expect((await post(ds, "registered-models/alias", { name, alias: "challenger", version: "2" })).status).toBe(200);
    expect(await aliasesOf(name)).toEqual([{ alias: "challenger", version: "2" }, { alias: "champion", version: "3" }]);
    expect((await del(lead, "registered-models/alias", { name, alias: "champion" })).status).toBe(200);

    const history = await aliasHistory(await ctxFor(db(), DEMO.ds), name);
    expect(history.map((e) => [e.alias, e.from_version, e.to_version, e.actor, e.via])).toEqual([
      ["champion", 3, null, `${DEMO.lead} (token)`, "api"],
      ["challenger", null, 2, `${DEMO.ds} (token)`, "api"],
      ["champion", 1, 3, `${DEMO.mle} (token)`, "api"],
      ["champion", null, 1, `${DEMO.ds} (token)`, "api"],
    ]);
    expect(history.every((e) => e.time > 0)).toBe(true);
    expect(await aliasesOf(name)).toEqual([{ alias: "challenger", version: "2" }]);
  });

  it("the history is not readable by another team", async () => {
    const name = await modelWithVersions(1);
    await expect(aliasHistory(await ctxFor(db(), DEMO.dsFraud), name)).rejects.toMatchObject({ code: "not_found" });
  });
});
