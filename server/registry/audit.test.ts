// Registry changes leave audit rows in the model's team (read back through the audit service as an
// admin would); refused attempts leave outcome=denied rows.
import { beforeAll, describe, expect, it } from "vitest";
import type { AuditEventDto } from "@/lib/schemas/audit";
import { auditQuerySchema } from "@/lib/schemas/audit";
import { listAudit } from "../audit/service";
import { mlflow, post } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { setProtectedAliases } from "./models";
import type { RunAt } from "./test-helpers";
import { createModel, registerVersion, runWithModel, unique } from "./test-helpers";

const db = demoDatabase();
let ds = "";
let mle = "";
let at: RunAt;

beforeAll(async () => {
  [ds, mle] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn")]);
  at = await runWithModel(ds, "audit");
});

async function audit(query: Record<string, string | number>): Promise<AuditEventDto[]> {
  const admin = await ctxFor(db(), DEMO.admin);
  return (await listAudit(admin, auditQuerySchema.parse({ limit: 500, ...query }))).events;
}

const ok = async (pending: Promise<{ status: number; text: string }>) => {
  const res = await pending;
  expect(res.status, res.text).toBe(200);
};

describe("registry audit trail", () => {
  it("records every change with actor and team", async () => {
    const name = unique("audited");
    const renamed = `${name}-renamed`;
    await createModel(ds, name);
    await ok(mlflow(ds, "PATCH", "registered-models/update", { body: { name, description: "d" } }));
    await ok(post(ds, "registered-models/set-tag", { name, key: "k", value: "v" }));
    await ok(mlflow(ds, "DELETE", "registered-models/delete-tag", { body: { name, key: "k" } }));
    await registerVersion(ds, name, at);
    await registerVersion(ds, name, at);
    await ok(mlflow(ds, "PATCH", "model-versions/update", { body: { name, version: "1", description: "v1" } }));
    await ok(post(ds, "model-versions/set-tag", { name, version: "1", key: "k", value: "v" }));
    await ok(mlflow(ds, "DELETE", "model-versions/delete-tag", { body: { name, version: "1", key: "k" } }));
    await ok(post(ds, "model-versions/transition-stage", { name, version: "1", stage: "Staging", archive_existing_versions: false }));
    await ok(post(ds, "registered-models/alias", { name, alias: "champion", version: "1" }));
    await ok(post(ds, "registered-models/alias", { name, alias: "champion", version: "2" }));
    await ok(mlflow(ds, "DELETE", "registered-models/alias", { body: { name, alias: "champion" } }));
    await ok(post(mle, "registered-models/rename", { name, new_name: renamed }));
    await ok(mlflow(mle, "DELETE", "model-versions/delete", { body: { name: renamed, version: "2" } }));
    await ok(mlflow(mle, "DELETE", "registered-models/delete", { body: { name: renamed } }));

    const events = (await audit({ team: "churn" })).filter((e) => e.target.startsWith(`model:churn/${name}`));
    const seen = events.map((e) => [e.action, e.target.replace(`model:churn/${name}`, "M"), e.outcome, e.actor.split(" ")[0]]).reverse();
    expect(seen).toEqual([
      ["model.create", "M", "allowed", DEMO.ds],
      ["model.describe", "M", "allowed", DEMO.ds],
      ["model.tag", "M", "allowed", DEMO.ds],
      ["model.untag", "M", "allowed", DEMO.ds],
      ["model_version.create", "M/1", "allowed", DEMO.ds],
      ["model_version.create", "M/2", "allowed", DEMO.ds],
      ["model_version.describe", "M/1", "allowed", DEMO.ds],
      ["model_version.tag", "M/1", "allowed", DEMO.ds],
      ["model_version.untag", "M/1", "allowed", DEMO.ds],
      ["model_version.stage", "M/1", "allowed", DEMO.ds],
      ["model_alias.set", "M@champion", "allowed", DEMO.ds],
      ["model_alias.set", "M@champion", "allowed", DEMO.ds],
      ["model_alias.delete", "M@champion", "allowed", DEMO.ds],
      ["model.rename", "M", "allowed", DEMO.mle],
      ["model_version.delete", "M-renamed/2", "allowed", DEMO.mle],
      ["model.delete", "M-renamed", "allowed", DEMO.mle],
    ]);
    expect(events.every((e) => e.team === "churn")).toBe(true);
    const byAction = (action: string) => events.filter((e) => e.action === action).reverse();
    expect(byAction("model.rename")[0]!.details).toMatchObject({ from: name, to: renamed });
    expect(byAction("model_alias.set").map((e) => e.details)).toEqual([expect.objectContaining({ from: null, to: 1 }), expect.objectContaining({ from: 1, to: 2 })]);
    expect(byAction("model_version.stage")[0]!.details).toMatchObject({ stage: "Staging" });
    expect(byAction("model_version.create")[0]!.details).toMatchObject({ source: `runs:/${at.run}/model`, run_id: at.run, format: "sklearn" });
    // Nothing of this landed in another team's trail.
    expect((await audit({ team: "fraud" })).filter((e) => e.target.includes(name))).toEqual([]);
  });

  it("records changes of the protected list", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    await setProtectedAliases(lead, ["gold"], "churn");
    await setProtectedAliases(lead, [], "churn");
    const events = (await audit({ team: "churn", action: "registry.protect" })).filter((e) => e.outcome === "allowed");
    expect(events.slice(0, 2).map((e) => [e.actor, e.details.protected_aliases])).toEqual([
      [DEMO.lead, ["production"]],
      [DEMO.lead, ["gold", "production"]],
    ]);
  });

  it("records refused attempts as denied, in the model's team", async () => {
    const name = unique("audited-denied");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    expect((await post(ds, "registered-models/rename", { name, new_name: `${name}-x` })).status).toBe(403);
    expect((await mlflow(ds, "DELETE", "registered-models/delete", { body: { name } })).status).toBe(403);
    expect((await mlflow(ds, "DELETE", "model-versions/delete", { body: { name, version: "1" } })).status).toBe(403);
    expect((await post(mle, "registered-models/alias", { name, alias: "production", version: "1" })).status).toBe(403);
    expect((await mlflow(mle, "DELETE", "registered-models/alias", { body: { name, alias: "production" } })).status).toBe(403);
    await expect(setProtectedAliases(await ctxFor(db(), DEMO.ds), ["champion"], "churn")).rejects.toMatchObject({ code: "forbidden" });

    const denied = (await audit({ team: "churn", outcome: "denied" })).filter((e) => e.target.startsWith(`model:churn/${name}`));
    expect(denied.map((e) => [e.action, e.target.replace(`model:churn/${name}`, "M"), e.actor.split(" ")[0]]).reverse()).toEqual([
      ["model.rename", "M", DEMO.ds],
      ["model.delete", "M", DEMO.ds],
      ["model_version.delete", "M/1", DEMO.ds],
      ["model_alias.set", "M@production", DEMO.mle],
      ["model_alias.delete", "M@production", DEMO.mle],
    ]);
    expect(denied.every((e) => e.team === "churn" && e.details.mode === "write")).toBe(true);
    const protect = (await audit({ team: "churn", action: "registry.protect", outcome: "denied" })).filter((e) => e.actor === DEMO.ds);
    expect(protect).toHaveLength(1);
    // Nothing was changed by the refused attempts.
    expect((await audit({ team: "churn", outcome: "allowed" })).filter((e) => e.target.startsWith(`model:churn/${name}`)).map((e) => e.action).sort()).toEqual(["model.create", "model_version.create"]);
  });

  it("records a foreign team's refused write as denied in the owning team", async () => {
    const name = unique("audited-foreign");
    await createModel(ds, name);
    await registerVersion(ds, name, at);
    const fraudAdmin = await tokenFor(db(), DEMO.admin, "fraud");
    // An admin may act in any team; a fraud member naming churn is refused as if churn did not exist.
    const fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
    expect((await post(fraud, "registered-models/set-tag", { name, key: "k", value: "v", team: "churn" })).status).toBe(404);
    expect((await post(fraudAdmin, "registered-models/set-tag", { name, key: "k", value: "v", team: "churn" })).status).toBe(200);
    const events = (await audit({ team: "churn" })).filter((e) => e.target === `model:churn/${name}` && e.action === "model.tag");
    expect(events.map((e) => [e.outcome, e.actor.split(" ")[0]])).toEqual([["allowed", DEMO.admin]]);
  });
});
