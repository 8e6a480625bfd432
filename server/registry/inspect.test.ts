// What a model version holds: MLmodel flavors and signature, an ONNX graph's inputs and outputs — read
// through registration (the dto's format, the stored inspection) and directly, including bad bytes.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelInspection } from "@/db/schema";
import { modelVersions } from "@/db/schema";
import { createFsArtifactStore } from "../artifacts/fs-store";
import type { ArtifactStore } from "../artifacts/store";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { EMPTY_INSPECTION, inspectModel, onnxSignatureOf, parseMlmodel } from "./inspect";
import type { ModelVersionDto } from "./test-helpers";
import { MLMODEL, createModel, createVersion, newRun, onnxModelBytes, putRunFile, runWithModel, unique } from "./test-helpers";

const db = demoDatabase();
let ds = "";

beforeAll(async () => {
  ds = await tokenFor(db(), DEMO.ds, "churn");
});

const ONNX_SIGNATURE = {
  inputs: [{ name: "x", type: "float32", shape: ["N", 3] }],
  outputs: [{ name: "y", type: "float32", shape: ["N", 1] }],
};

const MLMODEL_SIGNATURE = {
  inputs: [{ name: "tenure", type: "double" }, { name: "plan", type: "string" }],
  outputs: [{ type: "long" }],
};

async function storedInspection(v: ModelVersionDto): Promise<ModelInspection> {
  const rows = await db().select({ inspection: modelVersions.inspection, version: modelVersions.version, source: modelVersions.source }).from(modelVersions).where(eq(modelVersions.storageLocation, v.storage_location));
  const row = rows.find((r) => String(r.version) === v.version && r.source === v.source);
  if (!row) throw new Error(`no stored version ${v.name}/${v.version}`);
  return row.inspection;
}

describe("formats through registration", () => {
  it("a version whose artifacts hold an MLmodel reports its flavors, signature and input example", async () => {
    const name = unique("fmt-mlmodel");
    await createModel(ds, name);
    const at = await runWithModel(ds, "fmt");
    const res = await createVersion(ds, { name, source: `runs:/${at.run}/model`, run_id: at.run });
    expect(res.status).toBe(200);
    expect(res.json.model_version.format).toBe("sklearn");
    const inspection = await storedInspection(res.json.model_version);
    expect(inspection).toMatchObject({
      format: "sklearn",
      flavors: ["python_function", "sklearn"],
      signature: MLMODEL_SIGNATURE,
      signatureSource: "mlmodel",
      onnxPath: null,
      inputExample: '{"columns": ["tenure", "plan"], "data": [[12, "pro"]]}',
    });
    expect(inspection.files.sort()).toEqual(["MLmodel", "input_example.json"]);
  });

  it("a model.onnx gives format onnx and the graph's input/output signature", async () => {
    const name = unique("fmt-onnx");
    await createModel(ds, name);
    const at = await newRun(ds, "fmt-onnx");
    await putRunFile(ds, at, "onnx/model.onnx", onnxModelBytes());
    const dir = await createVersion(ds, { name, source: `runs:/${at.run}/onnx`, run_id: at.run });
    expect(dir.status).toBe(200);
    expect(dir.json.model_version.format).toBe("onnx");
    expect(await storedInspection(dir.json.model_version)).toMatchObject({ format: "onnx", flavors: [], signature: ONNX_SIGNATURE, signatureSource: "onnx", onnxPath: "model.onnx" });

    // A single .onnx file as the source.
    const file = await createVersion(ds, { name, source: `runs:/${at.run}/onnx/model.onnx`, run_id: at.run });
    expect(file.json.model_version.format).toBe("onnx");
    expect(await storedInspection(file.json.model_version)).toMatchObject({ format: "onnx", signature: ONNX_SIGNATURE, onnxPath: "model.onnx", files: ["model.onnx"] });
  });

  it("an MLmodel with an onnx flavor takes the signature from the graph it names", async () => {
    const name = unique("fmt-onnx-flavor");
    await createModel(ds, name);
    const at = await newRun(ds, "fmt-onnx-flavor");
    await putRunFile(ds, at, "model/MLmodel", "flavors:\n  onnx:\n    data: graph.onnx\n    onnx_version: 1.16.0\n  python_function:\n    loader_module: mlflow.onnx\n");
    await putRunFile(ds, at, "model/graph.onnx", onnxModelBytes());
    await putRunFile(ds, at, "model/other.onnx", "not an onnx graph");
    const res = await createVersion(ds, { name, source: `runs:/${at.run}/model`, run_id: at.run });
    expect(res.json.model_version.format).toBe("onnx");
    expect(await storedInspection(res.json.model_version)).toMatchObject({ format: "onnx", flavors: ["onnx", "python_function"], onnxPath: "graph.onnx", signature: ONNX_SIGNATURE, signatureSource: "onnx" });
  });

  it("malformed MLmodel or ONNX bytes register with what could be read, never an error", async () => {
    const name = unique("fmt-bad");
    await createModel(ds, name);
    const at = await newRun(ds, "fmt-bad");
    await putRunFile(ds, at, "yaml/MLmodel", "flavors: [unclosed\n  : : :");
    await putRunFile(ds, at, "onnx/model.onnx", "definitely not protobuf \u0000\u00ff");
    await putRunFile(ds, at, "plain/weights.bin", "0101");

    const yaml = await createVersion(ds, { name, source: `runs:/${at.run}/yaml`, run_id: at.run });
    expect(yaml.status).toBe(200);
    expect(yaml.json.model_version.format).toBe("unknown");
    expect(await storedInspection(yaml.json.model_version)).toMatchObject({ flavors: [], signature: null, signatureSource: null });

    const onnxBad = await createVersion(ds, { name, source: `runs:/${at.run}/onnx`, run_id: at.run });
    expect(onnxBad.status).toBe(200);
    expect(onnxBad.json.model_version.format).toBe("onnx");
    expect(await storedInspection(onnxBad.json.model_version)).toMatchObject({ signature: null, signatureSource: null, onnxPath: "model.onnx" });

    const plain = await createVersion(ds, { name, source: `runs:/${at.run}/plain`, run_id: at.run });
    expect(plain.json.model_version.format).toBe("unknown");
    const missing = await createVersion(ds, { name, source: `runs:/${at.run}/nothing-here`, run_id: at.run });
    expect(missing.status).toBe(200);
    expect(missing.json.model_version.format).toBe("unknown");
    expect(await storedInspection(missing.json.model_version)).toEqual(EMPTY_INSPECTION);
  });
});

describe("parseMlmodel", () => {
  it("reads flavors, a column signature, a tensor signature and the input example path", () => {
    expect(parseMlmodel(MLMODEL)).toEqual({ flavors: ["python_function", "sklearn"], signature: MLMODEL_SIGNATURE, examplePath: "input_example.json", onnxData: null });
    const tensor = parseMlmodel(`flavors:
  pytorch: {model_data: data}
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 10]}}]'
`);
    expect(tensor).toEqual({
      flavors: ["pytorch"],
      signature: { inputs: [{ type: "float32", shape: [-1, 28, 28] }], outputs: [{ type: "float32", shape: [-1, 10] }] },
      examplePath: null,
      onnxData: null,
    });
  });

  it("leaves out malformed parts and never throws", () => {
    expect(parseMlmodel("flavors: [unclosed")).toBeNull();
    expect(parseMlmodel("")).toBeNull();
    expect(parseMlmodel("just a string")).toBeNull();
    expect(parseMlmodel("- a\n- b")).toEqual({ flavors: [], signature: null, examplePath: null, onnxData: null });
    expect(parseMlmodel("flavors: 3\nsignature:\n  inputs: '{not json'\n  outputs: 7\n")).toEqual({ flavors: [], signature: null, examplePath: null, onnxData: null });
    expect(parseMlmodel("signature:\n  inputs: '[1, null, {\"name\": 5}]'\n")?.signature).toEqual({ inputs: [{ type: "unknown" }], outputs: [] });
    // A billion-laughs document is refused by the alias limit rather than expanded.
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`).join("\n")}\n`;
    expect(parseMlmodel(bomb)).toBeNull();
  });
});

describe("onnxSignatureOf", () => {
  it("answers the graph's real inputs (initializers excluded) and outputs", () => {
    expect(onnxSignatureOf(onnxModelBytes())).toEqual(ONNX_SIGNATURE);
  });

  it("answers null for bytes that are not an ONNX model", () => {
    expect(onnxSignatureOf(new Uint8Array())).toBeNull();
    expect(onnxSignatureOf(new TextEncoder().encode("not an onnx model"))).toBeNull();
    expect(onnxSignatureOf(onnxModelBytes().slice(0, 20))).toBeNull();
    expect(onnxSignatureOf(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBeNull();
  });
});

describe("inspectModel on a filesystem store", () => {
  let dir = "";
  let store: ArtifactStore;
  const root = ["churn", "1", "0123456789abcdef0123456789abcdef"];
  async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
    yield bytes;
  }
  const put = (rel: string, body: string | Uint8Array) => store.put(root, rel, once(typeof body === "string" ? new TextEncoder().encode(body) : body), { maxBytes: 1 << 20 });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "cairn-inspect-"));
    store = createFsArtifactStore(dir);
    await put("sk/MLmodel", MLMODEL);
    await put("sk/input_example.json", "[[1, 2]]");
    await put("onnx/model.onnx", onnxModelBytes());
    await put("onnx/MLmodel", "flavors:\n  onnx: {data: model.onnx}\n");
    await put("bad/MLmodel", "\u0000\u0001 not yaml: [");
    await put("bad/model.onnx", "garbage");
    await put("single.onnx", onnxModelBytes());
    await put("notes.txt", "hello");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads an MLmodel directory", async () => {
    expect(await inspectModel(store, root, "sk")).toEqual({
      format: "sklearn", flavors: ["python_function", "sklearn"], signature: MLMODEL_SIGNATURE, signatureSource: "mlmodel",
      inputExample: "[[1, 2]]", onnxPath: null, files: ["MLmodel", "input_example.json"],
    });
  });

  it("reads an ONNX directory and a single .onnx file", async () => {
    expect(await inspectModel(store, root, "onnx")).toEqual({
      format: "onnx", flavors: ["onnx"], signature: ONNX_SIGNATURE, signatureSource: "onnx", inputExample: null, onnxPath: "model.onnx", files: ["MLmodel", "model.onnx"],
    });
    expect(await inspectModel(store, root, "single.onnx")).toEqual({ ...EMPTY_INSPECTION, format: "onnx", signature: ONNX_SIGNATURE, signatureSource: "onnx", onnxPath: "single.onnx", files: ["single.onnx"] });
  });

  it("never throws on malformed content, other files or missing paths", async () => {
    expect(await inspectModel(store, root, "bad")).toEqual({ ...EMPTY_INSPECTION, format: "onnx", onnxPath: "model.onnx", files: ["MLmodel", "model.onnx"] });
    expect(await inspectModel(store, root, "notes.txt")).toEqual({ ...EMPTY_INSPECTION, files: ["notes.txt"] });
    expect(await inspectModel(store, root, "missing")).toEqual(EMPTY_INSPECTION);
    expect(await inspectModel(store, ["churn", "2", "fedcba9876543210fedcba9876543210"], "")).toEqual(EMPTY_INSPECTION);
  });
});
