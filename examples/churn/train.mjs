#!/usr/bin/env node
// Churn example: logistic regression trained by mini-batch gradient descent on examples/churn/churn.csv, logged
// to Cairn (or any MLflow tracking server) over the MLflow REST API, with the model exported as ONNX.
//
// Needs no network beyond the tracking server and no build step: plain JavaScript (ESM, JSDoc types), Node ≥ 20
// built-ins (global fetch) and the `onnx-proto` package from the Cairn repo (found via NODE_PATH or an
// ancestor node_modules). See README.md for how to run it by hand.
//
// Environment:
//   MLFLOW_TRACKING_URI     e.g. http://localhost:3000. Unset: train offline and write the outputs to ./outputs/.
//   MLFLOW_TRACKING_TOKEN   a Cairn API token, sent as `Authorization: Bearer …`.
//   MLFLOW_RUN_ID           log into this existing run (the job launcher creates it). Unset: create a run.
//   MLFLOW_EXPERIMENT_ID    experiment for a new run; or MLFLOW_EXPERIMENT_NAME (created when missing).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_NAME = "examples/churn/train.mjs";
const DEFAULT_EXPERIMENT_NAME = "churn-examples";

// ---------------------------------------------------------------------------------------------------------------
// Feature encoding. The model (and the ONNX graph) takes one float32 vector of 11 values per customer, in this
// order. Categoricals are ordinal codes, ordered from lowest to highest churn risk; booleans are 0/1.

/** @type {{ name: string, type: string, codes?: Record<string, number> }[]} */
export const FEATURES = [
  { name: "tenure_months", type: "long" },
  { name: "monthly_charges", type: "double" },
  { name: "total_charges", type: "double" },
  { name: "contract", type: "string", codes: { "Two year": 0, "One year": 1, "Month-to-month": 2 } },
  { name: "payment_method", type: "string", codes: { "Credit card (automatic)": 0, "Bank transfer (automatic)": 1, "Mailed check": 2, "Electronic check": 3 } },
  { name: "internet_service", type: "string", codes: { None: 0, DSL: 1, "Fiber optic": 2 } },
  { name: "tech_support", type: "boolean" },
  { name: "senior_citizen", type: "boolean" },
  { name: "support_tickets_90d", type: "long" },
  { name: "avg_monthly_usage_gb", type: "double" },
  { name: "paperless_billing", type: "boolean" },
];
const LABEL = "churned";
const CLASSES = ["retained", "churned"];

// ---------------------------------------------------------------------------------------------------------------
// Arguments: --name value (or --name=value); each also readable from the environment (EPOCHS, LR, …).

const OPTIONS = {
  epochs: { env: "EPOCHS", def: 30, int: true, min: 1, max: 10000 },
  lr: { env: "LR", def: 0.02, min: 1e-6, max: 100 },
  "batch-size": { env: "BATCH_SIZE", def: 64, int: true, min: 1, max: 1e6 },
  l2: { env: "L2", def: 0.001, min: 0, max: 100 },
  seed: { env: "SEED", def: 42, int: true, min: 0, max: 2 ** 31 },
  "val-fraction": { env: "VAL_FRACTION", def: 0.2, min: 0.05, max: 0.9 },
  "epoch-delay-ms": { env: "EPOCH_DELAY_MS", def: 300, int: true, min: 0, max: 600000 },
  threshold: { env: "THRESHOLD", def: 0.5, min: 0, max: 1 },
};

function usage() {
  return [
    "usage: node train.mjs [--epochs 30] [--lr 0.02] [--batch-size 64] [--l2 0.001] [--seed 42] [--val-fraction 0.2]",
    "                      [--epoch-delay-ms 300] [--threshold 0.5] [--data churn.csv] [--run-name NAME] [--output-dir outputs]",
  ].join("\n");
}

/** @param {string[]} argv */
export function parseArgs(argv, env = process.env) {
  /** @type {Record<string, string>} */
  const raw = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      console.log(usage());
      process.exit(0);
    }
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(arg)}\n${usage()}`);
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    raw[key] = value;
  }
  /** @type {Record<string, number>} */
  const nums = {};
  for (const [key, o] of Object.entries(OPTIONS)) {
    const text = raw[key] ?? env[o.env];
    delete raw[key];
    const value = text === undefined || text === "" ? o.def : Number(text);
    if (!Number.isFinite(value) || (o.int && !Number.isInteger(value)) || value < o.min || value > o.max) {
      throw new Error(`--${key} must be ${o.int ? "an integer" : "a number"} in [${o.min}, ${o.max}], got ${JSON.stringify(text)}`);
    }
    nums[key] = value;
  }
  const data = raw.data ?? env.DATA ?? path.join(HERE, "churn.csv");
  const runName = raw["run-name"] ?? env.RUN_NAME;
  const outputDir = raw["output-dir"] ?? env.OUTPUT_DIR ?? "outputs";
  for (const k of ["data", "run-name", "output-dir"]) delete raw[k];
  const unknown = Object.keys(raw);
  if (unknown.length) throw new Error(`unknown option --${unknown[0]}\n${usage()}`);
  return {
    epochs: nums.epochs, lr: nums.lr, batchSize: nums["batch-size"], l2: nums.l2, seed: nums.seed,
    valFraction: nums["val-fraction"], epochDelayMs: nums["epoch-delay-ms"], threshold: nums.threshold,
    data, runName, outputDir,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Data

/** mulberry32: small seeded PRNG, so the split and the batch order are the same on every run with one seed. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates, in place. */
function shuffle(array, rand) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}

/**
 * Parses the churn CSV (no quoted fields) into encoded features and labels.
 * @param {string} text
 * @returns {{ X: Float64Array[], y: Uint8Array, header: string[] }}
 */
export function loadChurn(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = lines[0].split(",").map((h) => h.trim());
  const col = (name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`the CSV has no column ${JSON.stringify(name)} (columns: ${header.join(", ")})`);
    return i;
  };
  const featureCols = FEATURES.map((f) => col(f.name));
  const labelCol = col(LABEL);
  const bool = (v, where) => {
    const s = v.trim().toLowerCase();
    if (s === "true" || s === "1" || s === "yes") return 1;
    if (s === "false" || s === "0" || s === "no") return 0;
    throw new Error(`${where}: expected a boolean, got ${JSON.stringify(v)}`);
  };
  const X = [];
  const y = new Uint8Array(lines.length - 1);
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r].split(",");
    if (cells.length !== header.length) throw new Error(`line ${r + 1}: expected ${header.length} fields, got ${cells.length}`);
    const row = new Float64Array(FEATURES.length);
    FEATURES.forEach((f, j) => {
      const v = cells[featureCols[j]];
      const where = `line ${r + 1}, ${f.name}`;
      if (f.codes) {
        const code = f.codes[v.trim()];
        if (code === undefined) throw new Error(`${where}: unknown category ${JSON.stringify(v)}`);
        row[j] = code;
      } else if (f.type === "boolean") row[j] = bool(v, where);
      else {
        const n = Number(v);
        if (v.trim() === "" || !Number.isFinite(n)) throw new Error(`${where}: expected a number, got ${JSON.stringify(v)}`);
        row[j] = n;
      }
    });
    X.push(row);
    y[r - 1] = bool(cells[labelCol], `line ${r + 1}, ${LABEL}`);
  }
  return { X, y, header };
}

// ---------------------------------------------------------------------------------------------------------------
// Model: p = σ(w·z + b) over standardized features z = (x − μ) / σ.

const sigmoid = (z) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function standardizer(rows) {
  const d = rows[0].length;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / rows.length;
  for (const r of rows) for (let j = 0; j < d; j++) std[j] += (r[j] - mean[j]) ** 2 / rows.length;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
  return { mean, std, apply: (r) => r.map((v, j) => (v - mean[j]) / std[j]) };
}

function predict(w, b, rows) {
  return Float64Array.from(rows, (r) => {
    let z = b;
    for (let j = 0; j < w.length; j++) z += w[j] * r[j];
    return sigmoid(z);
  });
}

function logLoss(p, y) {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - 1e-12, Math.max(1e-12, p[i]));
    s -= y[i] ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/** Area under the ROC curve via the rank statistic (Mann–Whitney U), ties sharing their average rank. */
export function rocAuc(scores, y) {
  const order = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // average 1-based rank of the tie group
    for (let k = i; k <= j; k++) if (y[order[k]]) {
      positives++;
      rankSum += rank;
    }
    i = j + 1;
  }
  const negatives = y.length - positives;
  if (!positives || !negatives) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function classification(p, y, threshold) {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < y.length; i++) {
    const hit = p[i] >= threshold;
    if (hit && y[i]) tp++;
    else if (hit) fp++;
    else if (y[i]) fn++;
    else tn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    accuracy: (tp + tn) / y.length, precision, recall,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    confusion: [[tn, fp], [fn, tp]],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ONNX: the same graph as server/registry/onnx-graphs.ts (MatMul → Add → Sigmoid → Concat[1 − p, p]), with the
// standardization folded into the weights so the model takes the raw encoded feature vector.

function loadOnnxProto() {
  // createRequire resolves like CommonJS: NODE_PATH (the job launcher sets it to the repo's node_modules) and then
  // every node_modules above this file, so it also works from a checkout without NODE_PATH.
  const bases = [import.meta.url, ...(process.env.NODE_PATH ?? "").split(path.delimiter).filter(Boolean).map((p) => path.join(p, "_"))];
  for (const base of bases) {
    try {
      return createRequire(base)("onnx-proto").onnx;
    } catch {
      /* try the next base */
    }
  }
  throw new Error("cannot load the onnx-proto package: run from the Cairn repo or set NODE_PATH=<repo>/node_modules");
}

/** @returns {Uint8Array} */
function logisticOnnx(onnx, weights, bias, docString) {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const F = weights.length;
  const tensor = (name, dims, values) => ({ name, dims, dataType: FLOAT, floatData: Array.from(values) });
  const valueInfo = (name, dims) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  });
  const graph = {
    name: "churn_logistic_regression",
    node: [
      { opType: "MatMul", input: ["features", "W"], output: ["xw"], name: "matmul" },
      { opType: "Add", input: ["xw", "B"], output: ["logits"], name: "add" },
      { opType: "Sigmoid", input: ["logits"], output: ["p1"], name: "sigmoid" },
      { opType: "Sub", input: ["one", "p1"], output: ["p0"], name: "complement" },
      { opType: "Concat", input: ["p0", "p1"], output: ["probabilities"], name: "concat", attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
    ],
    initializer: [tensor("W", [F, 1], weights), tensor("B", [1], [bias]), tensor("one", [1], [1])],
    input: [valueInfo("features", ["N", F])],
    output: [valueInfo("probabilities", ["N", 2])],
  };
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "cairn-examples",
    producerVersion: "1",
    docString,
    opsetImport: [{ domain: "", version: 13 }],
    graph,
  }).finish();
}

/**
 * Decodes the ONNX bytes and evaluates the graph on `rows` (only the five ops it uses), so a broken export
 * fails the run instead of being registered. Returns the largest difference from `expected` P(churned).
 */
function checkOnnx(onnx, bytes, rows, expected) {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph;
  const ops = g.node.map((n) => n.opType).join(",");
  if (ops !== "MatMul,Add,Sigmoid,Sub,Concat") throw new Error(`unexpected ONNX graph: ${ops}`);
  if (g.input.length !== 1 || g.input[0].name !== "features" || g.output[0].name !== "probabilities") throw new Error("unexpected ONNX inputs/outputs");
  const init = Object.fromEntries(g.initializer.map((t) => [t.name, t.floatData.map((v) => Math.fround(v))]));
  let worst = 0;
  rows.forEach((r, i) => {
    let z = Math.fround(0);
    for (let j = 0; j < r.length; j++) z = Math.fround(z + Math.fround(Math.fround(r[j]) * init.W[j]));
    const p1 = 1 / (1 + Math.exp(-(z + init.B[0])));
    const p0 = init.one[0] - p1;
    if (Math.abs(p0 + p1 - 1) > 1e-6) throw new Error("ONNX probabilities do not sum to 1");
    worst = Math.max(worst, Math.abs(p1 - expected[i]));
  });
  return worst;
}

// ---------------------------------------------------------------------------------------------------------------
// MLmodel (YAML) in the format MLflow writes for mlflow.onnx.log_model, as in db/seed/tracking.ts.

function mlmodelDoc(runId, created, extra) {
  const inputs = [{ type: "tensor", name: "features", "tensor-spec": { dtype: "float32", shape: [-1, FEATURES.length] } }];
  const outputs = [{ type: "tensor", name: "probabilities", "tensor-spec": { dtype: "float32", shape: [-1, CLASSES.length] } }];
  return {
    artifact_path: "model",
    flavors: {
      onnx: { code: null, data: "model.onnx", onnx_version: "1.16.1", providers: ["CPUExecutionProvider"] },
      python_function: { data: "model.onnx", env: { conda: "conda.yaml", virtualenv: "python_env.yaml" }, loader_module: "mlflow.onnx", python_version: "3.11.9" },
    },
    mlflow_version: "2.16.2",
    model_uuid: createHash("sha256").update(`${runId}/model`).digest("hex").slice(0, 32),
    run_id: runId,
    saved_input_example_info: { artifact_path: "input_example.json", format: "tf-serving", type: "ndarray" },
    signature: { inputs: JSON.stringify(inputs), outputs: JSON.stringify(outputs), params: null },
    utc_time_created: created.toISOString().replace("T", " ").replace("Z", "000"),
    metadata: extra,
  };
}

/** Serializes the MLmodel document as block YAML; strings are single-quoted when they need it. */
function toYaml(value, indent = "") {
  const scalar = (v) => {
    if (v === null || v === undefined) return "null";
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    const s = String(v);
    return /^[A-Za-z_][A-Za-z0-9_.\-/ ]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) && !s.endsWith(" ")
      ? s
      : `'${s.replace(/'/g, "''")}'`;
  };
  const lines = [];
  for (const [k, v] of Object.entries(value)) {
    if (Array.isArray(v)) {
      lines.push(`${indent}${k}:`);
      for (const item of v) lines.push(`${indent}- ${typeof item === "object" && item !== null ? JSON.stringify(item) : scalar(item)}`);
    } else if (v && typeof v === "object") {
      lines.push(`${indent}${k}:`, toYaml(v, `${indent}  `));
    } else lines.push(`${indent}${k}: ${scalar(v)}`);
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// MLflow REST client

class MlflowClient {
  /** @param {string} uri @param {string | undefined} token */
  constructor(uri, token) {
    this.base = uri.replace(/\/+$/, "");
    this.headers = token ? { Authorization: `Bearer ${token}` } : {};
  }

  async request(method, url, { json, body, contentType, attempts = 4 } = {}) {
    for (let attempt = 1; ; attempt++) {
      let res;
      try {
        res = await fetch(url, {
          method,
          headers: { ...this.headers, ...(json !== undefined ? { "Content-Type": "application/json" } : contentType ? { "Content-Type": contentType } : {}) },
          body: json !== undefined ? JSON.stringify(json) : body,
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        if (attempt >= attempts) throw new Error(`${method} ${url}: ${err instanceof Error ? err.message : err}`);
        await sleep(250 * 2 ** attempt);
        continue;
      }
      const text = await res.text();
      if (res.ok) return text ? JSON.parse(text) : {};
      // Retry what may pass on a second try: rate limits and server errors.
      if ((res.status === 429 || res.status >= 500) && attempt < attempts) {
        await sleep(Number(res.headers.get("retry-after")) * 1000 || 250 * 2 ** attempt);
        continue;
      }
      const error = new Error(`${method} ${url.replace(this.base, "")} → ${res.status}: ${text.slice(0, 500)}`);
      error.status = res.status;
      try {
        error.code = JSON.parse(text).error_code;
      } catch {
        /* not JSON */
      }
      throw error;
    }
  }

  api(method, endpoint, payload) {
    const url = `${this.base}/api/2.0/mlflow/${endpoint}`;
    if (method === "GET") return this.request("GET", `${url}?${new URLSearchParams(payload)}`);
    return this.request(method, url, { json: payload });
  }

  /** PUT one artifact through the proxied artifact API (mlflow-artifacts:/…). */
  async putArtifact(artifactUri, relPath, bytes, contentType) {
    const root = artifactUri.startsWith("mlflow-artifacts:") ? artifactUri.replace(/^mlflow-artifacts:\/*/, "") : null;
    if (root === null) throw new Error(`the run's artifact URI ${artifactUri} is not served by the tracking server (mlflow-artifacts:/…)`);
    const encoded = `${root.replace(/\/+$/, "")}/${relPath}`.split("/").map(encodeURIComponent).join("/");
    await this.request("PUT", `${this.base}/api/2.0/mlflow-artifacts/artifacts/${encoded}`, { body: bytes, contentType });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Finds the run to log into: MLFLOW_RUN_ID, else a new run in MLFLOW_EXPERIMENT_ID / MLFLOW_EXPERIMENT_NAME. */
async function resolveRun(client, env, runName) {
  if (env.MLFLOW_RUN_ID) {
    const { run } = await client.api("GET", "runs/get", { run_id: env.MLFLOW_RUN_ID });
    return { runId: run.info.run_id, experimentId: run.info.experiment_id, artifactUri: run.info.artifact_uri, created: false };
  }
  let experimentId = env.MLFLOW_EXPERIMENT_ID;
  if (!experimentId) {
    const name = env.MLFLOW_EXPERIMENT_NAME || DEFAULT_EXPERIMENT_NAME;
    try {
      experimentId = (await client.api("GET", "experiments/get-by-name", { experiment_name: name })).experiment.experiment_id;
    } catch (err) {
      if (err.code !== "RESOURCE_DOES_NOT_EXIST" && err.status !== 404) throw err;
      experimentId = (await client.api("POST", "experiments/create", { name })).experiment_id;
      console.log(`created experiment ${JSON.stringify(name)} (id ${experimentId})`);
    }
  }
  const name = runName || `churn-logreg-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-")}`;
  const { run } = await client.api("POST", "runs/create", {
    experiment_id: String(experimentId),
    run_name: name,
    start_time: Date.now(),
    tags: [{ key: "mlflow.runName", value: name }, { key: "mlflow.source.name", value: SOURCE_NAME }, { key: "mlflow.source.type", value: "LOCAL" }],
  });
  return { runId: run.info.run_id, experimentId: run.info.experiment_id, artifactUri: run.info.artifact_uri, created: true };
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const env = process.env;
  // Tracking (optional: without MLFLOW_TRACKING_URI the example trains offline).
  const client = env.MLFLOW_TRACKING_URI ? new MlflowClient(env.MLFLOW_TRACKING_URI, env.MLFLOW_TRACKING_TOKEN) : null;
  /** @type {{ runId: string, experimentId: string, artifactUri: string, created: boolean } | null} */
  let run = null;
  let finished = false;
  /** Ends the run (ours, or the launcher's MLFLOW_RUN_ID if we failed before reading it) unless it already ended. */
  const fail = async (status) => {
    const runId = run?.runId ?? env.MLFLOW_RUN_ID;
    if (!client || !runId || finished) return;
    finished = true;
    await client.api("POST", "runs/update", { run_id: runId, status, end_time: Date.now() }).catch((e) => console.error(`could not mark the run ${status}: ${e.message}`));
  };
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.once(signal, () => {
      console.error(`${signal}: stopping`);
      Promise.race([fail("KILLED"), sleep(3000)]).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }

  try {
    const args = parseArgs(process.argv.slice(2));
    const onnx = loadOnnxProto();
    if (client) {
      run = await resolveRun(client, env, args.runName);
      console.log(`logging to run ${run.runId} in experiment ${run.experimentId} at ${client.base}`);
      await client.api("POST", "runs/update", { run_id: run.runId, status: "RUNNING" });
    }

    // Data: load, split deterministically, standardize on the training part.
    const csv = readFileSync(args.data);
    const { X, y } = loadChurn(csv.toString("utf8"));
    const rand = mulberry32(args.seed);
    const order = shuffle(Array.from(y.keys()), rand);
    const nVal = Math.round(order.length * args.valFraction);
    const valIdx = order.slice(0, nVal);
    const trainIdx = order.slice(nVal);
    const scaler = standardizer(trainIdx.map((i) => X[i]));
    const Ztrain = trainIdx.map((i) => scaler.apply(X[i]));
    const ytrain = Uint8Array.from(trainIdx, (i) => y[i]);
    const Zval = valIdx.map((i) => scaler.apply(X[i]));
    const yval = Uint8Array.from(valIdx, (i) => y[i]);
    const churnRate = y.reduce((a, b) => a + b, 0) / y.length;
    console.log(`data: ${y.length} rows (${trainIdx.length} train / ${valIdx.length} validation), churn rate ${churnRate.toFixed(3)}`);

    if (client && run) {
      const params = {
        model_type: "logistic_regression", optimizer: "sgd", penalty: "l2", epochs: args.epochs, learning_rate: args.lr,
        batch_size: args.batchSize, regularization: args.l2, seed: args.seed, val_fraction: args.valFraction,
        threshold: args.threshold, scaler: "standard", feature_set: "churn_v1_ordinal", n_features: FEATURES.length,
        train_rows: trainIdx.length, val_rows: valIdx.length,
      };
      await client.api("POST", "runs/log-batch", {
        run_id: run.runId,
        params: Object.entries(params).map(([key, value]) => ({ key, value: String(value) })),
        tags: [
          { key: "mlflow.source.name", value: SOURCE_NAME }, { key: "mlflow.source.type", value: "LOCAL" },
          { key: "example", value: "churn" }, { key: "framework", value: `node-${process.versions.node}` },
        ],
      });
      await logDatasets(client, run.runId, csv, y.length, trainIdx, valIdx);
    }

    // Training: mini-batch gradient descent on the mean log loss + (l2 / 2)·|w|².
    const d = FEATURES.length;
    const w = new Float64Array(d);
    let b = Math.log(churnRate / (1 - churnRate)); // start at the base rate
    const batchOrder = Array.from(trainIdx.keys());
    const grad = new Float64Array(d);
    let last = null;
    for (let epoch = 0; epoch < args.epochs; epoch++) {
      const started = Date.now();
      shuffle(batchOrder, rand);
      for (let start = 0; start < batchOrder.length; start += args.batchSize) {
        const batch = batchOrder.slice(start, start + args.batchSize);
        grad.fill(0);
        let gb = 0;
        for (const i of batch) {
          const r = Ztrain[i];
          let z = b;
          for (let j = 0; j < d; j++) z += w[j] * r[j];
          const err = sigmoid(z) - ytrain[i];
          for (let j = 0; j < d; j++) grad[j] += err * r[j];
          gb += err;
        }
        for (let j = 0; j < d; j++) w[j] -= args.lr * (grad[j] / batch.length + args.l2 * w[j]);
        b -= args.lr * (gb / batch.length);
      }
      const pTrain = predict(w, b, Ztrain);
      const pVal = predict(w, b, Zval);
      const valCls = classification(pVal, yval, args.threshold);
      last = {
        train_loss: logLoss(pTrain, ytrain),
        train_accuracy: classification(pTrain, ytrain, args.threshold).accuracy,
        val_loss: logLoss(pVal, yval),
        val_accuracy: valCls.accuracy,
        val_auc: rocAuc(pVal, yval),
      };
      const stamp = Date.now();
      console.log(`epoch ${String(epoch + 1).padStart(3)}/${args.epochs}  ${Object.entries(last).map(([k, v]) => `${k}=${v.toFixed(4)}`).join("  ")}  (${stamp - started} ms)`);
      if (client && run) {
        await client.api("POST", "runs/log-batch", {
          run_id: run.runId,
          metrics: Object.entries(last).map(([key, value]) => ({ key, value, timestamp: stamp, step: epoch })),
        });
      }
      if (args.epochDelayMs && epoch < args.epochs - 1) await sleep(args.epochDelayMs);
    }

    // Final evaluation on the validation split.
    const pVal = predict(w, b, Zval);
    const cls = classification(pVal, yval, args.threshold);
    const finals = { accuracy: cls.accuracy, auc: rocAuc(pVal, yval), precision: cls.precision, recall: cls.recall, f1: cls.f1, log_loss: logLoss(pVal, yval) };
    console.log(`validation: ${Object.entries(finals).map(([k, v]) => `${k}=${v.toFixed(4)}`).join("  ")}`);

    // Export: fold the standardization into raw-feature weights, build and check the ONNX graph.
    const rawWeights = Array.from(w, (wj, j) => wj / scaler.std[j]);
    const rawBias = b - Array.from(w).reduce((s, wj, j) => s + (wj * scaler.mean[j]) / scaler.std[j], 0);
    const onnxBytes = logisticOnnx(onnx, rawWeights, rawBias, `Churn logistic regression over ${FEATURES.map((f) => f.name).join(", ")}`);
    const valRaw = valIdx.map((i) => X[i]);
    const onnxError = checkOnnx(onnx, onnxBytes, valRaw, pVal);
    if (onnxError > 1e-3) throw new Error(`the exported ONNX graph disagrees with the trained model (max |Δp| = ${onnxError})`);
    console.log(`onnx: ${onnxBytes.length} bytes, max |Δp| vs the trained model on validation ${onnxError.toExponential(2)}`);

    const encoding = FEATURES.map((f) => ({ name: f.name, type: f.type, ...(f.codes ? { codes: f.codes } : f.type === "boolean" ? { codes: { false: 0, true: 1 } } : {}) }));
    const created = new Date();
    const runId = run?.runId ?? "offline";
    const metadata = {
      feature_order: JSON.stringify(FEATURES.map((f) => f.name)),
      encoding: "categoricals as ordinal codes, booleans 0/1, all as float32 in feature_order; no scaling needed (folded into the weights)",
      classes: JSON.stringify(CLASSES),
    };
    const mlmodel = `${toYaml(mlmodelDoc(runId, created, metadata))}\n`;
    const example = { inputs: valRaw.slice(0, 5).map((r) => Array.from(r)) };
    const profile = referenceProfile(trainIdx.map((i) => X[i]), predict(w, b, Ztrain));
    const summary = {
      run_id: runId,
      model: "logistic_regression",
      metrics: Object.fromEntries(Object.entries({ ...finals, ...Object.fromEntries(Object.entries(last ?? {}).map(([k, v]) => [`final_${k}`, v])) }).map(([k, v]) => [k, round(v)])),
      params: { epochs: args.epochs, learning_rate: args.lr, batch_size: args.batchSize, l2: args.l2, seed: args.seed, val_fraction: args.valFraction, threshold: args.threshold },
      classes: CLASSES,
      confusion_matrix: { labels: CLASSES, rows: "actual", columns: "predicted", values: cls.confusion },
      features: encoding,
      input: { name: "features", dtype: "float32", shape: [-1, FEATURES.length], order: FEATURES.map((f) => f.name) },
      output: { name: "probabilities", dtype: "float32", shape: [-1, 2], columns: CLASSES },
      standardization: { mean: Array.from(scaler.mean, (v) => round(v, 6)), std: Array.from(scaler.std, (v) => round(v, 6)) },
      weights: {
        standardized: Object.fromEntries(FEATURES.map((f, j) => [f.name, round(w[j], 6)])), standardized_bias: round(b, 6),
        raw: Object.fromEntries(FEATURES.map((f, j) => [f.name, rawWeights[j]])), raw_bias: rawBias,
      },
    };
    const text = (s) => new TextEncoder().encode(s);
    /** @type {[string, Uint8Array, string][]} */
    const files = [
      ["model/model.onnx", onnxBytes, "application/octet-stream"],
      ["model/MLmodel", text(mlmodel), "text/plain"],
      ["model/input_example.json", text(`${JSON.stringify(example)}\n`), "application/json"],
      ["model/conda.yaml", text("channels:\n- conda-forge\ndependencies:\n- python=3.11.9\n- pip\n- pip:\n  - mlflow==2.16.2\n  - onnx==1.16.1\n  - onnxruntime\nname: mlflow-env\n"), "text/plain"],
      ["model/python_env.yaml", text("python: 3.11.9\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"), "text/plain"],
      ["model/requirements.txt", text("mlflow==2.16.2\nonnx==1.16.1\nonnxruntime\n"), "text/plain"],
      ["metrics.json", text(`${JSON.stringify(summary, null, 2)}\n`), "application/json"],
      // The training reference for drift monitoring (the deployment page's Monitoring section).
      ["reference/profile.json", text(`${JSON.stringify(profile)}\n`), "application/json"],
      ["confusion_matrix.csv", text(`actual\\predicted,${CLASSES.join(",")}\n${cls.confusion.map((r, i) => [CLASSES[i], ...r].join(",")).join("\n")}\n`), "text/csv"],
    ];

    if (!client || !run) {
      const out = path.resolve(args.outputDir);
      for (const [rel, bytes] of files) {
        mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
        writeFileSync(path.join(out, rel), bytes);
      }
      console.log(`MLFLOW_TRACKING_URI is not set: wrote ${files.length} files to ${out}`);
      return;
    }

    const lastStep = args.epochs - 1;
    const stamp = Date.now();
    await client.api("POST", "runs/log-batch", {
      run_id: run.runId,
      metrics: Object.entries(finals).map(([key, value]) => ({ key, value, timestamp: stamp, step: lastStep })),
    });
    for (const [rel, bytes, type] of files) await client.putArtifact(run.artifactUri, rel, bytes, type);
    console.log(`uploaded ${files.map(([rel]) => rel).join(", ")}`);
    const doc = mlmodelDoc(run.runId, created, metadata);
    const modelJson = { ...doc, signature: doc.signature, model_size_bytes: onnxBytes.length };
    await client.api("POST", "runs/log-model", { run_id: run.runId, model_json: JSON.stringify(modelJson) });
    await client.api("POST", "runs/update", { run_id: run.runId, status: "FINISHED", end_time: Date.now() });
    finished = true;
    console.log(`run ${run.runId} FINISHED; register it from runs:/${run.runId}/model`);
  } catch (err) {
    await fail("FAILED");
    throw err;
  }
}

/** The q-quantile of sorted values (linear between neighbours). */
function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** A numeric feature's profile: bin edges at the deciles (repeats merged), counts per bin, and the range seen. */
function numericProfile(name, values) {
  const sorted = Float64Array.from(values).sort();
  const edges = [];
  for (let i = 0; i <= 10; i++) {
    const e = round(quantile(sorted, i / 10), 6);
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  if (edges.length === 1) edges.push(edges[0] + 1);
  const counts = new Array(edges.length - 1).fill(0);
  for (const v of values) {
    let bin = 0;
    while (bin < counts.length - 1 && v >= edges[bin + 1]) bin++;
    counts[bin]++;
  }
  return { name, kind: "numeric", bin_edges: edges, counts };
}

/**
 * The training reference Cairn's drift monitoring compares live traffic with (reference/profile.json, format
 * "cairn.reference_profile/v1"; see Cairn's README, "Drift monitoring"): one entry per column of the model's
 * input, in its order — numbers as bins, categorical codes and booleans as counts per code — and the churn
 * probability the model gives the training rows.
 */
export function referenceProfile(rows, probabilities) {
  const features = FEATURES.map((f, j) => {
    const values = rows.map((r) => r[j]);
    if (f.codes || f.type === "boolean") {
      const counts = {};
      for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
      return { name: f.name, kind: "categorical", counts };
    }
    return numericProfile(f.name, values);
  });
  return { format: "cairn.reference_profile/v1", rows: rows.length, features, prediction: numericProfile("churn_probability", Array.from(probabilities)) };
}

function round(v, digits = 5) {
  return Number.isFinite(v) ? Number(v.toFixed(digits)) : v;
}

/** Logs the CSV and the two splits as run inputs (MLflow datasets). */
async function logDatasets(client, runId, csv, rows, trainIdx, valIdx) {
  const columns = [...FEATURES.map((f) => ({ type: f.type, name: f.name, required: true })), { type: "boolean", name: LABEL, required: true }];
  const schema = JSON.stringify({ mlflow_colspec: columns });
  const fileDigest = createHash("sha256").update(csv).digest("hex");
  const dataset = (name, idx, context) => ({
    tags: [{ key: "mlflow.data.context", value: context }],
    dataset: {
      name,
      digest: createHash("sha256").update(fileDigest).update(Uint32Array.from(idx)).digest("hex").slice(0, 8),
      source_type: "local",
      source: "examples/churn/churn.csv",
      schema,
      profile: JSON.stringify({ num_rows: idx.length, num_elements: idx.length * columns.length, file_rows: rows }),
    },
  });
  await client.api("POST", "runs/log-inputs", {
    run_id: runId,
    datasets: [dataset("churn-train", trainIdx, "training"), dataset("churn-validation", valIdx, "validation")],
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`error: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
