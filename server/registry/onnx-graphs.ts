// Small, real ONNX graphs built with onnx-proto: a linear (logistic / softmax) classifier over a float
// feature vector, and an image classifier over per-channel means. The demo seed writes them as
// model.onnx; the built-in model server runs them with onnxruntime.
import onnxProto from "onnx-proto";
import type { onnx } from "onnx-proto";

// onnx-proto is CommonJS: Node's own ESM loader (tsx, scripts) sees only its default export.
const proto = onnxProto.onnx;

const FLOAT = proto.TensorProto.DataType.FLOAT;
const OPSET = 13;

function tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: values };
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  };
}

function model(graph: onnx.IGraphProto, docString: string): Uint8Array {
  return proto.ModelProto.encode({
    irVersion: 8,
    producerName: "cairn",
    producerVersion: "1",
    docString,
    opsetImport: [{ domain: "", version: OPSET }],
    graph,
  }).finish();
}

/**
 * probabilities[N, 2] = [1 − σ(xW + b), σ(xW + b)] for binary tasks, softmax(xW + b) for more classes.
 * `weights` is features × (1 for binary, else classes), row-major.
 */
export function linearClassifierOnnx(opts: { features: number; classes: number; weights: number[]; bias: number[]; inputName?: string; outputName?: string }): Uint8Array {
  const { features, classes } = opts;
  const binary = classes === 2;
  const cols = binary ? 1 : classes;
  if (opts.weights.length !== features * cols || opts.bias.length !== cols) throw new Error(`linearClassifierOnnx: expected ${features}×${cols} weights and ${cols} biases`);
  const input = opts.inputName ?? "features";
  const output = opts.outputName ?? "probabilities";
  const nodes: onnx.INodeProto[] = [
    { opType: "MatMul", input: [input, "W"], output: ["xw"], name: "matmul" },
    { opType: "Add", input: ["xw", "B"], output: ["logits"], name: "add" },
  ];
  const initializer = [tensor("W", [features, cols], opts.weights), tensor("B", [cols], opts.bias)];
  if (binary) {
    initializer.push(tensor("one", [1], [1]));
    nodes.push(
      { opType: "Sigmoid", input: ["logits"], output: ["p1"], name: "sigmoid" },
      { opType: "Sub", input: ["one", "p1"], output: ["p0"], name: "complement" },
      { opType: "Concat", input: ["p0", "p1"], output: [output], name: "concat", attribute: [{ name: "axis", type: proto.AttributeProto.AttributeType.INT, i: 1 }] },
    );
  } else {
    nodes.push({ opType: "Softmax", input: ["logits"], output: [output], name: "softmax", attribute: [{ name: "axis", type: proto.AttributeProto.AttributeType.INT, i: 1 }] });
  }
  return model(
    { name: "linear_classifier", node: nodes, initializer, input: [valueInfo(input, ["N", features])], output: [valueInfo(output, ["N", classes])] },
    binary ? "Logistic regression" : "Softmax regression",
  );
}

/** images[N, C, H, W] → per-channel means → softmax(mean·W + b): a tiny but real image classifier. */
export function imageClassifierOnnx(opts: { channels: number; height: number; width: number; classes: number; weights: number[]; bias: number[] }): Uint8Array {
  const { channels, classes } = opts;
  if (opts.weights.length !== channels * classes || opts.bias.length !== classes) throw new Error(`imageClassifierOnnx: expected ${channels}×${classes} weights and ${classes} biases`);
  const ints = proto.AttributeProto.AttributeType.INTS;
  const int = proto.AttributeProto.AttributeType.INT;
  return model(
    {
      name: "image_classifier",
      node: [
        { opType: "ReduceMean", input: ["images"], output: ["means"], name: "pool", attribute: [{ name: "axes", type: ints, ints: [2, 3] }, { name: "keepdims", type: int, i: 0 }] },
        { opType: "MatMul", input: ["means", "W"], output: ["xw"], name: "matmul" },
        { opType: "Add", input: ["xw", "B"], output: ["logits"], name: "add" },
        { opType: "Softmax", input: ["logits"], output: ["probabilities"], name: "softmax", attribute: [{ name: "axis", type: int, i: 1 }] },
      ],
      initializer: [tensor("W", [channels, classes], opts.weights), tensor("B", [classes], opts.bias)],
      input: [valueInfo("images", ["N", channels, opts.height, opts.width])],
      output: [valueInfo("probabilities", ["N", classes])],
    },
    "Channel-mean softmax classifier",
  );
}
