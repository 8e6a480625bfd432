// Reading what a model version holds: the MLmodel file (flavors, signature, input example) and an ONNX
// graph's inputs and outputs. ONNX is the format Cairn's built-in model server serves.
import onnxProto from "onnx-proto";
import type { onnx } from "onnx-proto";
import { parse as parseYaml } from "yaml";
import type { ModelInspection, ModelSignature, TensorSpec } from "@/db/schema";
import type { ArtifactStore } from "../artifacts/store";

// onnx-proto is CommonJS: Node's own ESM loader (tsx, scripts) sees only its default export.
const proto = onnxProto.onnx;

const MLMODEL_MAX_BYTES = 256 * 1024;
const EXAMPLE_MAX_BYTES = 64 * 1024;
const ONNX_MAX_BYTES = 256 * 1024 * 1024;

export const EMPTY_INSPECTION: ModelInspection = { format: "unknown", flavors: [], signature: null, signatureSource: null, inputExample: null, onnxPath: null, files: [] };

async function readBytes(store: ArtifactStore, root: string[], rel: string, cap: number): Promise<Uint8Array | null> {
  const file = await store.get(root, rel);
  if (!file) return null;
  if (file.size > cap) {
    await file.stream.cancel();
    return null;
  }
  return new Uint8Array(await new Response(file.stream).arrayBuffer());
}

const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

/** Inspects the artifacts at `rel` (a model directory, or a single .onnx file). Never throws on bad content. */
export async function inspectModel(store: ArtifactStore, root: string[], rel: string): Promise<ModelInspection> {
  const stat = await store.stat(root, rel);
  if (!stat) return EMPTY_INSPECTION;
  if (!stat.is_dir) {
    const name = rel.split("/").pop() ?? rel;
    if (!/\.onnx$/i.test(name)) return { ...EMPTY_INSPECTION, files: [name] };
    const signature = await onnxSignature(store, root, rel);
    return { ...EMPTY_INSPECTION, format: "onnx", files: [name], onnxPath: name, signature, signatureSource: signature ? "onnx" : null };
  }
  const files = ((await store.list(root, rel)) ?? []).map((e) => (e.is_dir ? `${e.path.split("/").pop()}/` : (e.path.split("/").pop() ?? e.path)));
  const mlmodel = files.includes("MLmodel") ? await readMlmodel(store, root, rel) : null;
  const onnxFile = (mlmodel?.onnxData && files.includes(mlmodel.onnxData) ? mlmodel.onnxData : undefined)
    ?? (files.includes("model.onnx") ? "model.onnx" : files.find((f) => /\.onnx$/i.test(f)));
  const fromOnnx = onnxFile ? await onnxSignature(store, root, join(rel, onnxFile)) : null;
  const flavors = mlmodel?.flavors ?? [];
  const format = onnxFile ? "onnx" : (flavors.find((f) => f !== "python_function") ?? flavors[0] ?? "unknown");
  const signature = fromOnnx ?? mlmodel?.signature ?? null;
  return {
    format,
    flavors,
    signature,
    signatureSource: fromOnnx ? "onnx" : signature ? "mlmodel" : null,
    inputExample: mlmodel?.examplePath && files.includes(mlmodel.examplePath) ? await readExample(store, root, join(rel, mlmodel.examplePath)) : null,
    onnxPath: onnxFile ?? null,
    files,
  };
}

type Mlmodel = { flavors: string[]; signature: ModelSignature | null; examplePath: string | null; onnxData: string | null };

async function readMlmodel(store: ArtifactStore, root: string[], rel: string): Promise<Mlmodel | null> {
  const bytes = await readBytes(store, root, join(rel, "MLmodel"), MLMODEL_MAX_BYTES);
  if (!bytes) return null;
  return parseMlmodel(new TextDecoder().decode(bytes));
}

/** Parses an MLmodel file (YAML). Unknown or malformed parts are left out rather than failing. */
export function parseMlmodel(text: string): Mlmodel | null {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 10 });
  } catch {
    return null;
  }
  if (!doc || typeof doc !== "object") return null;
  const d = doc as Record<string, unknown>;
  const flavorMap = d.flavors && typeof d.flavors === "object" ? (d.flavors as Record<string, unknown>) : {};
  const flavors = Object.keys(flavorMap);
  const onnxFlavor = flavorMap.onnx as Record<string, unknown> | undefined;
  const sig = d.signature as Record<string, unknown> | undefined;
  const inputs = sig ? specList(sig.inputs) : null;
  const outputs = sig ? specList(sig.outputs) : null;
  const example = d.saved_input_example_info as Record<string, unknown> | undefined;
  return {
    flavors,
    signature: inputs || outputs ? { inputs: inputs ?? [], outputs: outputs ?? [] } : null,
    examplePath: typeof example?.artifact_path === "string" ? example.artifact_path : null,
    onnxData: typeof onnxFlavor?.data === "string" ? onnxFlavor.data : null,
  };
}

/** MLflow stores each side of a signature as a JSON string: column specs or tensor specs. */
function specList(raw: unknown): TensorSpec[] | null {
  if (typeof raw !== "string") return null;
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!Array.isArray(list)) return null;
  return list.flatMap((item): TensorSpec[] => {
    if (!item || typeof item !== "object") return [];
    const o = item as Record<string, unknown>;
    const tensor = o["tensor-spec"] as Record<string, unknown> | undefined;
    const type = typeof tensor?.dtype === "string" ? tensor.dtype : typeof o.type === "string" ? o.type : "unknown";
    const shape = Array.isArray(tensor?.shape) ? (tensor.shape as unknown[]).map((x) => (typeof x === "number" ? x : String(x))) : undefined;
    return [{ ...(typeof o.name === "string" ? { name: o.name } : {}), type, ...(shape ? { shape } : {}) }];
  });
}

async function readExample(store: ArtifactStore, root: string[], rel: string): Promise<string | null> {
  const bytes = await readBytes(store, root, rel, EXAMPLE_MAX_BYTES);
  return bytes ? new TextDecoder().decode(bytes) : null;
}

const ELEM_TYPES: Record<number, string> = {
  1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string", 9: "bool",
  10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
};

async function onnxSignature(store: ArtifactStore, root: string[], rel: string): Promise<ModelSignature | null> {
  const bytes = await readBytes(store, root, rel, ONNX_MAX_BYTES);
  return bytes ? onnxSignatureOf(bytes) : null;
}

/** The graph's real inputs (initializers excluded) and outputs; null when the bytes are not an ONNX model. */
export function onnxSignatureOf(bytes: Uint8Array): ModelSignature | null {
  let model: onnx.ModelProto;
  try {
    model = proto.ModelProto.decode(bytes);
  } catch {
    return null;
  }
  const graph = model.graph;
  const inputs = graph?.input ?? [];
  const outputs = graph?.output ?? [];
  if (inputs.length === 0 && outputs.length === 0) return null;
  const initializers = new Set((graph?.initializer ?? []).map((t) => t.name));
  const spec = (v: onnx.IValueInfoProto): TensorSpec => {
    const tensor = v.type?.tensorType;
    const dims = tensor?.shape?.dim ?? [];
    return {
      name: v.name ?? "",
      type: ELEM_TYPES[tensor?.elemType ?? 0] ?? "unknown",
      shape: dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? Number(String(d.dimValue)) : -1)),
    };
  };
  return { inputs: inputs.filter((v) => !initializers.has(v.name ?? "")).map(spec), outputs: outputs.map(spec) };
}
