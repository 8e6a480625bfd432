// Test helpers for the registry: a run (or MLflow 3 logged model) with model files uploaded through the
// artifacts API, registry calls shaped like the official client's, and a tiny real ONNX graph.
import onnxProto from "onnx-proto";
import type { onnx } from "onnx-proto";
import { artifacts, createExperiment, createRun, mlflow, post } from "../mlflow/test-client";
import type { Answer } from "../mlflow/test-client";
import type { ModelVersionDto, RegisteredModelDto } from "./dto";

// onnx-proto is CommonJS: Node's own ESM loader (tsx, scripts) sees only its default export.
const proto = onnxProto.onnx;

export type { ModelVersionDto, RegisteredModelDto };

let seq = 0;
export const unique = (prefix: string) => `${prefix}-${Date.now()}-${++seq}`;

/** A pyfunc MLmodel with a column signature, as mlflow.pyfunc.log_model writes it. */
export const MLMODEL = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.pyfunc.model
    python_version: 3.11.9
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.5.0
mlflow_version: 3.6.0
signature:
  inputs: '[{"type": "double", "name": "tenure", "required": true}, {"type": "string", "name": "plan", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
saved_input_example_info:
  artifact_path: input_example.json
  type: dataframe
`;

/** A real ONNX graph: y[N,1] = MatMul(x[N,3], w[3,1]) with w an initializer (not an input). */
export function onnxModelBytes(): Uint8Array<ArrayBuffer> {
  const tensor = (name: string, dims: onnx.TensorShapeProto.IDimension[]): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: proto.TensorProto.DataType.FLOAT, shape: { dim: dims } } },
  });
  const bytes = proto.ModelProto.encode({
    irVersion: 8,
    producerName: "cairn-test",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "linear",
      node: [{ opType: "MatMul", input: ["x", "w"], output: ["y"], name: "matmul" }],
      initializer: [{ name: "w", dataType: proto.TensorProto.DataType.FLOAT, dims: [3, 1], floatData: [0.1, 0.2, 0.3] }],
      input: [tensor("x", [{ dimParam: "N" }, { dimValue: 3 }]), tensor("w", [{ dimValue: 3 }, { dimValue: 1 }])],
      output: [tensor("y", [{ dimParam: "N" }, { dimValue: 1 }])],
    },
  }).finish();
  return new Uint8Array(bytes);
}

export type RunAt = { exp: string; run: string };

/** An experiment and run of the token's team. */
export async function newRun(token: string, prefix = "reg"): Promise<RunAt> {
  const exp = await createExperiment(token, unique(prefix));
  const run = (await createRun(token, exp)).run_id;
  return { exp, run };
}

/** Uploads one file into a run's artifacts through the proxied artifact API. */
export async function putRunFile(token: string, at: RunAt, rel: string, body: string | Uint8Array<ArrayBuffer>): Promise<void> {
  const res = await artifacts(token, "PUT", `${at.exp}/${at.run}/artifacts/${rel}`, { body });
  if (res.status !== 200) throw new Error(`artifact upload ${rel}: ${res.status} ${res.text}`);
}

/** A run with an MLmodel (pyfunc + sklearn) under model/. */
export async function runWithModel(token: string, prefix = "reg"): Promise<RunAt> {
  const at = await newRun(token, prefix);
  await putRunFile(token, at, "model/MLmodel", MLMODEL);
  await putRunFile(token, at, "model/input_example.json", '{"columns": ["tenure", "plan"], "data": [[12, "pro"]]}');
  return at;
}

/** An MLflow 3 logged model of the run (the run's output), with an MLmodel in its artifacts. */
export async function loggedModel(token: string, at: RunAt, name = "model"): Promise<string> {
  const created = await post<{ model: { info: { model_id: string } } }>(token, "logged-models", { experiment_id: at.exp, name, source_run_id: at.run });
  if (created.status !== 200) throw new Error(`logged-models: ${created.status} ${created.text}`);
  const id = created.json.model.info.model_id;
  const outputs = await post(token, "runs/outputs", { run_id: at.run, models: [{ model_id: id, step: 0 }] });
  if (outputs.status !== 200) throw new Error(`runs/outputs: ${outputs.status} ${outputs.text}`);
  const put = await artifacts(token, "PUT", `${at.exp}/models/${id}/artifacts/MLmodel`, { body: MLMODEL });
  if (put.status !== 200) throw new Error(`logged model MLmodel: ${put.status} ${put.text}`);
  return id;
}

export async function createModel(token: string, name: string, extra: Record<string, unknown> = {}): Promise<RegisteredModelDto> {
  const res = await post<{ registered_model: RegisteredModelDto }>(token, "registered-models/create", { name, ...extra });
  if (res.status !== 200) throw new Error(`registered-models/create ${name}: ${res.status} ${res.text}`);
  return res.json.registered_model;
}

export const createVersion = (token: string, body: Record<string, unknown>): Promise<Answer<{ model_version: ModelVersionDto }>> =>
  post<{ model_version: ModelVersionDto }>(token, "model-versions/create", body);

/** Registers a version from runs:/<run>/model and returns it (throws on a non-200 answer). */
export async function registerVersion(token: string, name: string, at: RunAt, extra: Record<string, unknown> = {}): Promise<ModelVersionDto> {
  const res = await createVersion(token, { name, source: `runs:/${at.run}/model`, run_id: at.run, ...extra });
  if (res.status !== 200) throw new Error(`model-versions/create ${name}: ${res.status} ${res.text}`);
  return res.json.model_version;
}

/** Every version of a model, as model-versions/search answers it for the token. */
export async function versionsOf(token: string, name: string): Promise<string[]> {
  const res = await mlflow<{ model_versions: ModelVersionDto[] }>(token, "GET", "model-versions/search", { query: { filter: `name = '${name}'` } });
  if (res.status !== 200) throw new Error(`model-versions/search: ${res.status} ${res.text}`);
  return res.json.model_versions.map((v) => v.version).sort((a, b) => Number(a) - Number(b));
}
