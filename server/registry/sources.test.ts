// Model version sources: only the team's own artifacts (runs:/, mlflow-artifacts:/ on this server,
// models:/m-<id>) are accepted; local paths, other schemes and hosts, path escapes and other teams'
// runs or logged models are refused, and a refusal creates nothing.
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../mlflow/test-client";
import { get } from "../mlflow/test-client";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import type { ModelVersionDto, RunAt } from "./test-helpers";
import { createModel, createVersion, loggedModel, newRun, runWithModel, unique, versionsOf } from "./test-helpers";

const db = demoDatabase();
let ds = "";
let dsFraud = "";
let at: RunAt;
let foreign: RunAt;
let foreignModel = "";

beforeAll(async () => {
  [ds, dsFraud] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  at = await runWithModel(ds, "src");
  foreign = await runWithModel(dsFraud, "fraud-src");
  foreignModel = await loggedModel(dsFraud, foreign, "fraud-model");
});

async function expectRefused(name: string, body: Record<string, unknown>, statuses: number[], label: string): Promise<ErrorBody> {
  const res = await createVersion(ds, { name, ...body });
  expect(statuses, `${label}: ${res.status} ${res.text}`).toContain(res.status);
  const err = res.json as unknown as ErrorBody;
  expect(err.error_code, label).toBe(res.status === 404 ? "RESOURCE_DOES_NOT_EXIST" : res.status === 403 ? "PERMISSION_DENIED" : "INVALID_PARAMETER_VALUE");
  return err;
}

describe("refused sources", () => {
  it("refuses local paths, file: URIs, other schemes and other hosts, and creates nothing", async () => {
    const name = unique("refuse-local");
    await createModel(ds, name);
    const refusals: [string, RegExp][] = [
      ["/tmp/model", /path on some machine/],
      ["C:\\model", /path on some machine/],
      ["c:/models/churn", /path on some machine/],
      ["model", /path on some machine/],
      ["./model", /path on some machine/],
      ["file:///tmp/model", /file: URIs/],
      ["file:/etc/passwd", /file: URIs/],
      ["s3://bucket/churn/model", /s3: locations are outside/],
      ["https://example.com/model.onnx", /https: locations are outside/],
      ["gs://bucket/model", /gs: locations are outside/],
      [`mlflow-artifacts://otherhost/${at.exp}/${at.run}/artifacts/model`, /another host \(otherhost\)/],
      [`mlflow-artifacts://otherhost:5000/${at.exp}/${at.run}/artifacts/model`, /another host/],
      ["models:/churn-clf/1", /models:\/ sources name an MLflow 3 logged model/],
      ["models:/churn-clf@champion", /models:\/ sources name an MLflow 3 logged model/],
      ["runs:/not-a-run/model", /32-character run id/],
    ];
    for (const [source, why] of refusals) {
      const err = await expectRefused(name, { source }, [400], source);
      expect(err.message, source).toMatch(why);
      expect(err.message, source).toContain("runs:/<run_id>/<path>");
    }
    expect(await versionsOf(ds, name)).toEqual([]);
    // The failed attempts did not use up version numbers.
    const ok = await createVersion(ds, { name, source: `runs:/${at.run}/model`, run_id: at.run });
    expect(ok.json.model_version.version).toBe("1");
  });

  it("refuses path escapes out of the run's artifacts", async () => {
    const name = unique("refuse-escape");
    await createModel(ds, name);
    const escapes = [
      `runs:/${at.run}/../x`,
      `runs:/${at.run}/model/../../other`,
      `runs:/${at.run}/%2e%2e/x`,
      `runs:/${at.run}/%2E%2E%2Fx`,
      `runs:/${at.run}/model\\..\\..\\x`,
      `runs:/${at.run}//etc/passwd`,
      `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/../../x`,
      `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/%2e%2e/x`,
      `mlflow-artifacts:/${at.exp}/../${at.exp}/${at.run}/artifacts/model`,
    ];
    for (const source of escapes) {
      const err = await expectRefused(name, { source }, [400, 404], source);
      expect(err.message, source).not.toContain(process.cwd());
    }
    expect(await versionsOf(ds, name)).toEqual([]);
  });

  it("refuses another team's run, artifacts and logged model without revealing them", async () => {
    const name = unique("refuse-foreign");
    await createModel(ds, name);
    const sources = [
      { source: `runs:/${foreign.run}/model` },
      { source: `runs:/${foreign.run}/model`, run_id: foreign.run },
      { source: `mlflow-artifacts:/${foreign.exp}/${foreign.run}/artifacts/model` },
      { source: `models:/${foreignModel}` },
      { source: `models:/${foreignModel}`, model_id: foreignModel },
      { source: `mlflow-artifacts:/${foreign.exp}/models/${foreignModel}/artifacts` },
    ];
    for (const body of sources) {
      const err = await expectRefused(name, body, [400, 404], body.source);
      expect(err.message, body.source).not.toContain("fraud");
    }
    // A source of our own run with a foreign run_id is refused too (run_id does not match).
    await expectRefused(name, { source: `runs:/${at.run}/model`, run_id: foreign.run }, [400], "own source, foreign run_id");
    expect(await versionsOf(ds, name)).toEqual([]);
    expect(await versionsOf(dsFraud, name)).toEqual([]);
  });

  it("refuses a run_id or model_id that does not match the source", async () => {
    const name = unique("refuse-mismatch");
    await createModel(ds, name);
    const other = await newRun(ds, "src-other");
    const mismatch = await expectRefused(name, { source: `runs:/${at.run}/model`, run_id: other.run }, [400], "run_id");
    expect(mismatch.message).toContain(`run_id ${other.run} does not match`);
    await expectRefused(name, { source: `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/model`, run_id: other.run }, [400], "artifact uri run_id");
    const own = await loggedModel(ds, other, "own-model");
    await expectRefused(name, { source: `runs:/${at.run}/model`, run_id: at.run, model_id: own }, [400], "model_id");
    await expectRefused(name, { source: `models:/${own}`, run_id: at.run }, [400], "logged model of another run");
    await expectRefused(name, { source: `runs:/${at.run}/model`, run_id: "abc" }, [400], "malformed run_id");
    expect(await versionsOf(ds, name)).toEqual([]);
  });
});

describe("accepted sources", () => {
  it("runs:/<run>/model and mlflow-artifacts:/<exp>/<run>/artifacts/model resolve into the run's artifacts", async () => {
    const name = unique("accept-run");
    await createModel(ds, name);
    const fromRun = await createVersion(ds, { name, source: `runs:/${at.run}/model`, run_id: at.run });
    expect(fromRun.status).toBe(200);
    expect(fromRun.json.model_version).toMatchObject({ run_id: at.run, storage_location: `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/model`, format: "sklearn" });
    expect(fromRun.json.model_version.model_id).toBeUndefined();

    const fromUri = await createVersion(ds, { name, source: `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/model` });
    expect(fromUri.status).toBe(200);
    // run_id is filled in from the source when the client leaves it out.
    expect(fromUri.json.model_version).toMatchObject({ version: "2", run_id: at.run, storage_location: `mlflow-artifacts:/${at.exp}/${at.run}/artifacts/model`, format: "sklearn" });
    const uri = await get<{ artifact_uri: string }>(ds, "model-versions/get-download-uri", { name, version: "2" });
    expect(uri.json.artifact_uri).toBe(`mlflow-artifacts:/${at.exp}/${at.run}/artifacts/model`);
  });

  it("models:/m-<id> registers an MLflow 3 logged model (the client's register_model request)", async () => {
    const name = unique("accept-logged");
    await createModel(ds, name);
    const run = await newRun(ds, "src-logged");
    const model = await loggedModel(ds, run, "model");
    const res = await createVersion(ds, { name, source: `models:/${model}`, run_id: run.run, model_id: model });
    expect(res.status).toBe(200);
    expect(res.json.model_version).toMatchObject({
      version: "1", source: `models:/${model}`, run_id: run.run, model_id: model,
      storage_location: `mlflow-artifacts:/${run.exp}/models/${model}/artifacts`, format: "sklearn",
    });
    // The logged model's artifact URI works as a source too.
    const byUri = await createVersion(ds, { name, source: `mlflow-artifacts:/${run.exp}/models/${model}/artifacts` });
    expect(byUri.status).toBe(200);
    expect(byUri.json.model_version).toMatchObject({ model_id: model, run_id: run.run, storage_location: `mlflow-artifacts:/${run.exp}/models/${model}/artifacts` });
  });

  it("runs:/<run>/<name> resolves to the run's logged-model output when the run has no such folder", async () => {
    const name = unique("accept-output");
    await createModel(ds, name);
    const run = await newRun(ds, "src-output");
    const model = await loggedModel(ds, run, "clf");
    const res = await createVersion(ds, { name, source: `runs:/${run.run}/clf`, run_id: run.run });
    expect(res.status).toBe(200);
    const v: ModelVersionDto = res.json.model_version;
    expect(v).toMatchObject({ source: `runs:/${run.run}/clf`, run_id: run.run, model_id: model, storage_location: `mlflow-artifacts:/${run.exp}/models/${model}/artifacts`, format: "sklearn" });

    // A folder of that name in the run wins over the logged model.
    const both = await runWithModel(ds, "src-both");
    await loggedModel(ds, both, "model");
    const folder = await createVersion(ds, { name, source: `runs:/${both.run}/model`, run_id: both.run });
    expect(folder.json.model_version.storage_location).toBe(`mlflow-artifacts:/${both.exp}/${both.run}/artifacts/model`);
    expect(folder.json.model_version.model_id).toBeUndefined();
  });
});
