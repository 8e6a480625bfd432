// Replays every tracking and artifact request the official MLflow client (2.12 and 3.6) makes, as
// recorded in testdata/, and checks Cairn answers each with the recorded status and error code.
// Registry requests included: register versions from runs:/, mlflow-artifacts:/ and models:/m-… sources,
// aliases, stages, and downloading the model by models:/<name>@<alias> and models:/<name>/<version>.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { handleArtifacts } from "./artifacts-handler";
import { handleMlflow } from "./handler";

const db = demoDatabase();

type Recorded = { section: string; method: string; path: string; query?: string; body?: string; bytes?: number; contentType?: string; status: number; errorCode?: string };

const LINE = /^(GET|POST|PUT|PATCH|DELETE)\s+(\S+)(?:\s+\?(\S+))?(?:\s+body=(.*?))?(?:\s+\[(\d+) bytes, Content-Type: ([^\]]+)\])?\s+->\s+(\d+)(?:\s+(\w+))?$/;

function load(file: string): Recorded[] {
  const out: Recorded[] = [];
  let section = "";
  for (const line of readFileSync(path.join(__dirname, "testdata", file), "utf8").split("\n")) {
    if (line.startsWith("### ")) section = line.slice(4);
    const m = LINE.exec(line.trim());
    if (!m) continue;
    out.push({ section, method: m[1]!, path: m[2]!, query: m[3], body: m[4], bytes: m[5] ? Number(m[5]) : undefined, contentType: m[6], status: Number(m[7]), errorCode: m[8] });
  }
  return out;
}

async function replay(file: string) {
  const token = await tokenFor(db(), DEMO.ds, "churn");
  const vars: Record<string, string> = {};
  const results: { req: Recorded; status: number; body: unknown }[] = [];
  const fill = (s: string) =>
    s.replace(/<RUN>/g, () => vars.RUN ?? "<RUN>").replace(/<MODEL>/g, () => vars.MODEL ?? "<MODEL>").replace(/<ms>/g, String(Date.now()))
      .replace(/"experiment_id": "1"/g, () => `"experiment_id": "${vars.EXP ?? "1"}"`).replace(/"experiment_ids": \["1"\]/g, () => `"experiment_ids": ["${vars.EXP ?? "1"}"]`)
      .replace(/(artifacts\/|path=|mlflow-artifacts:\/)1\//g, (_m, p: string) => `${p}${vars.EXP ?? "1"}/`).replace(/experiment_id=1$/, () => `experiment_id=${vars.EXP ?? "1"}`);
  for (const req of load(file)) {
    const url = `http://localhost${fill(req.path)}${req.query ? `?${fill(req.query)}` : ""}`;
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let body: BodyInit | undefined;
    if (req.body) { body = fill(req.body); headers["content-type"] = "application/json"; }
    if (req.bytes !== undefined) { body = new Uint8Array(req.bytes).fill(65); headers["content-type"] = req.contentType ?? "application/octet-stream"; }
    const request = new Request(url, { method: req.method, headers, body });
    const pathname = new URL(url).pathname;
    const res = pathname.startsWith("/api/2.0/mlflow-artifacts/")
      ? await handleArtifacts(request)
      : await handleMlflow(request, pathname.replace("/api/2.0/mlflow/", "").split("/"));
    const text = await res.text();
    let json: unknown = text;
    try { json = JSON.parse(text); } catch { /* a download */ }
    results.push({ req, status: res.status, body: json });
    if (pathname.endsWith("/experiments/create") && res.status === 200) vars.EXP = (json as { experiment_id: string }).experiment_id;
    if (pathname.endsWith("/runs/create") && res.status === 200) vars.RUN = (json as { run: { info: { run_id: string } } }).run.info.run_id;
    if (pathname.endsWith("/logged-models") && req.method === "POST" && res.status === 200) vars.MODEL = (json as { model: { info: { model_id: string } } }).model.info.model_id.replace(/^m-/, "");
  }
  return { results, vars };
}

describe.each(["mlflow-client-2.12-requests.txt", "mlflow-client-3.6-requests.txt"])("MLflow client journey %s", (file) => {
  it("answers every recorded tracking, registry and artifact request as the client expects", async () => {
    const { results, vars } = await replay(file);
    expect(results.length).toBeGreaterThan(40);
    for (const r of results) {
      const label = `${r.req.section}: ${r.req.method} ${r.req.path} ${r.req.query ?? ""} -> ${JSON.stringify(r.body).slice(0, 300)}`;
      expect(r.status, label).toBe(r.req.status);
      if (r.req.errorCode) expect((r.body as { error_code: string }).error_code, label).toBe(r.req.errorCode);
    }
    // Spot checks of what the client then reads.
    const getRun = results.filter((r) => r.req.path.endsWith("runs/get")).at(-1)!.body as { run: { info: { status: string; artifact_uri: string }; data: { params: { key: string }[]; metrics: { key: string; value: number; step: number }[]; tags: { key: string; value: string }[] } } };
    expect(getRun.run.info.status).toBe("FINISHED");
    expect(getRun.run.info.artifact_uri).toBe(`mlflow-artifacts:/${vars.EXP}/${vars.RUN}/artifacts`);
    expect(getRun.run.data.params.map((p) => p.key).sort()).toEqual(["epochs", "lr", "optimizer"]);
    expect(getRun.run.data.metrics.find((m) => m.key === "loss")).toMatchObject({ value: 0.25, step: 2 });
    expect(getRun.run.data.tags).toContainEqual({ key: "team", value: "probe" });
    const history = results.find((r) => r.req.path.endsWith("metrics/get-history"))!.body as { metrics: { value: number; step: number }[] };
    expect(history.metrics.map((m) => [m.step, m.value])).toEqual([[0, 0.9], [1, 0.5], [2, 0.25]]);
    const search = results.find((r) => r.req.path.endsWith("runs/search"))!.body as { runs: { info: { run_id: string } }[] };
    expect(search.runs.map((r) => r.info.run_id)).toEqual([vars.RUN]);
    const listing = results.find((r) => r.req.path.endsWith("mlflow-artifacts/artifacts") && r.req.query === "path=1/<RUN>/artifacts")!.body as { files: { path: string; is_dir: boolean }[] };
    expect(listing.files.map((f) => f.path)).toEqual(expect.arrayContaining(["notes.txt", "sub", "config.json"]));
    const download = results.find((r) => r.req.method === "GET" && r.req.path.endsWith("/artifacts/notes.txt"))!;
    expect(download.body).toBe("A".repeat(15));
    const fileListing = results.find((r) => r.req.query === "path=1/<RUN>/artifacts/notes.txt")!;
    expect(fileListing.body).toEqual({});
    // Registry: the alias names version 3, stages are labels, and models:/ URIs download the model's files.
    const byAlias = results.find((r) => r.req.path.endsWith("registered-models/alias") && r.req.method === "GET")!.body as { model_version: { version: string; aliases: string[]; current_stage: string } };
    expect(byAlias.model_version).toMatchObject({ version: "3", aliases: ["champion"] });
    const latest = results.find((r) => r.req.path.endsWith("get-latest-versions"))!.body as { model_versions: { version: string; current_stage: string }[] };
    expect(latest.model_versions).toEqual([expect.objectContaining({ version: "3", current_stage: "Production" })]);
    const uri = (results.find((r) => r.req.path.endsWith("get-download-uri"))!.body as { artifact_uri: string }).artifact_uri;
    const v3 = file.includes("3.6") ? `mlflow-artifacts:/${vars.EXP}/models/m-${vars.MODEL}/artifacts` : `mlflow-artifacts:/${vars.EXP}/${vars.RUN}/artifacts/model`;
    expect(uri).toBe(v3);
    const modelListing = results.find((r) => r.req.path.endsWith("mlflow-artifacts/artifacts") && (file.includes("3.6") ? /models\/m-<MODEL>\/artifacts$/ : /artifacts\/model$/).test(r.req.query ?? ""))!.body as { files: { path: string }[] };
    expect(modelListing.files.map((f) => f.path)).toContain("MLmodel");
    const duplicate = results.find((r) => r.req.path.endsWith("registered-models/create") && r.status === 400)!.body as { error_code: string };
    expect(duplicate.error_code).toBe("RESOURCE_ALREADY_EXISTS");
  });
});
