// The built-in model server: one replica of a deployment. It loads an ONNX model with onnxruntime and
// serves it on 127.0.0.1 over the Open Inference Protocol v2 (KServe, Triton) and MLflow's
// /invocations scoring formats. Plain JavaScript with no imports from the repository, so it runs as
// `node model-server.mjs` anywhere onnxruntime-node resolves (a child of the Next.js server, a container).
//
//   node model-server.mjs --model <model.onnx> --name <model name> [--version <n>] [--port 0]
//                         [--host 127.0.0.1] [--threads 1] [--exit-on-stdin-close]
//                         [--secret-from-stdin | --secret-env <VARIABLE>]
//
// With a secret (the first line on stdin for a local replica; an environment variable set from a Secret in a
// pod), every request but the health probes must carry it in x-cairn-replica-secret: only Cairn's gateway calls.
//
// Once it serves, it prints exactly one line to stdout: {"ready":true,"port":<port>,"pid":<pid>}.
// A model that does not load exits 2 with the reason on stderr. SIGTERM drains and exits 0.
import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import ort from "onnxruntime-node";

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const DISCARD_BYTES = 64 * 1024 * 1024;
const DRAIN_MS = 2_000;

// ---------------------------------------------------------------------------------------------------
// Arguments

function usage(message) {
  process.stderr.write(`model-server: ${message}\nusage: node model-server.mjs --model <model.onnx> --name <model name> [--version <n>] [--port 0] [--host 127.0.0.1] [--threads 1] [--exit-on-stdin-close] [--secret-from-stdin | --secret-env <VARIABLE>]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { model: "", name: "", version: null, port: 0, host: "127.0.0.1", threads: 1, exitOnStdinClose: false, secretFromStdin: false, secretEnv: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--exit-on-stdin-close") {
      opts.exitOnStdinClose = true;
      continue;
    }
    if (flag === "--secret-from-stdin") {
      opts.secretFromStdin = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === "--model") opts.model = value;
    else if (flag === "--name") opts.name = value;
    else if (flag === "--version") opts.version = value;
    else if (flag === "--host") opts.host = value;
    else if (flag === "--secret-env") opts.secretEnv = value;
    else if (flag === "--port" || flag === "--threads") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) usage(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
      opts[flag.slice(2)] = n;
    } else usage(`unknown option ${flag}`);
  }
  if (!opts.model) usage("--model is required");
  if (!opts.name) usage("--name is required");
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// The secret is the first line on stdin (never argv or the environment, which other local processes can
// read). Listening starts now, before anything else puts stdin in flowing mode.
const secretLine = opts.secretFromStdin
  ? new Promise((resolve) => {
      let buffered = "";
      const onData = (chunk) => {
        buffered += chunk;
        const nl = buffered.indexOf("\n");
        if (nl < 0) return;
        process.stdin.off("data", onData);
        resolve(Buffer.from(buffered.slice(0, nl).trim()));
      };
      process.stdin.setEncoding("utf8");
      process.stdin.on("data", onData);
    })
  : null;

// ---------------------------------------------------------------------------------------------------
// Tensor types: onnxruntime's names, the protocol's names, and how a JSON value becomes an element.

const toFloat = (v) => (typeof v === "number" ? v : undefined);
const toInt = (v) => (typeof v === "number" && Number.isInteger(v) ? v : undefined);
const toBigInt = (v) => (typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : undefined);
const toBool = (v) => (v === true || v === 1 ? 1 : v === false || v === 0 ? 0 : undefined);

/** onnxruntime tensor type → [protocol datatype, typed array, element converter] */
const TYPES = {
  float32: ["FP32", Float32Array, toFloat],
  float64: ["FP64", Float64Array, toFloat],
  int8: ["INT8", Int8Array, toInt],
  int16: ["INT16", Int16Array, toInt],
  int32: ["INT32", Int32Array, toInt],
  int64: ["INT64", BigInt64Array, toBigInt],
  uint8: ["UINT8", Uint8Array, toInt],
  uint16: ["UINT16", Uint16Array, toInt],
  uint32: ["UINT32", Uint32Array, toInt],
  uint64: ["UINT64", BigUint64Array, toBigInt],
  bool: ["BOOL", Uint8Array, toBool],
};
const DATATYPES = new Set(["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"]);
const datatypeOf = (type) => TYPES[type]?.[0] ?? String(type).toUpperCase();

// ---------------------------------------------------------------------------------------------------
// The model

let session;
try {
  session = await ort.InferenceSession.create(opts.model, {
    // Replicas are the unit of scale: one intra-op thread each keeps N replicas from fighting over cores
    // and is the fastest setting for the small per-request batches a scoring endpoint sees.
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
} catch (err) {
  process.stderr.write(`model-server: could not load the ONNX model ${opts.model}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

/** Symbolic or unknown dimensions are -1, as the protocol writes a dynamic dimension. */
const dims = (shape) => shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));

function describe(meta) {
  if (!meta.isTensor) return { name: meta.name, type: null, datatype: "NON_TENSOR", shape: [] };
  return { name: meta.name, type: meta.type, datatype: datatypeOf(meta.type), shape: dims(meta.shape) };
}

const inputs = session.inputMetadata.map(describe);
const outputs = session.outputMetadata.map(describe);
const inputByName = new Map(inputs.map((i) => [i.name, i]));
const outputNames = new Set(outputs.map((o) => o.name));
const version = opts.version === null ? null : String(opts.version);
const strip = ({ name, datatype, shape }) => ({ name, datatype, shape });
const METADATA = JSON.stringify({ name: opts.name, ...(version ? { versions: [version] } : {}), platform: "onnxruntime", inputs: inputs.map(strip), outputs: outputs.map(strip) });

// The MLflow row formats need one 2-D input [N, F]; F may be symbolic, then every row must agree.
const rowInput = inputs.length === 1 && inputs[0].shape.length === 2 && TYPES[inputs[0].type] ? inputs[0] : null;

// ---------------------------------------------------------------------------------------------------
// Requests → tensors

class BadRequest extends Error {
  constructor(message, status = 400, close = false) {
    super(message);
    this.status = status;
    this.close = close;
  }
}

const product = (shape) => shape.reduce((a, b) => a * b, 1);
const fmt = (shape) => `[${shape.join(", ")}]`;
const show = (v) => (v === undefined ? "nothing" : JSON.stringify(v)?.slice(0, 40));

function expectedShape(input) {
  return fmt(input.shape.map((d) => (d < 0 ? "N" : d)));
}

/** The request's shape must have the model's rank and match every fixed dimension. */
function checkShape(input, shape) {
  if (input.shape.length === 0) return;
  if (shape.length !== input.shape.length) {
    throw new BadRequest(`input "${input.name}" has ${input.shape.length} dimensions ${expectedShape(input)}; the request's shape ${fmt(shape)} has ${shape.length}`);
  }
  for (let i = 0; i < shape.length; i++) {
    const want = input.shape[i];
    if (want >= 0 && shape[i] !== want) {
      throw new BadRequest(`input "${input.name}" must have shape ${expectedShape(input)}: dimension ${i} is ${shape[i]}, the model needs ${want}`);
    }
  }
}

function badValue(input, v, at) {
  const [datatype] = TYPES[input.type];
  const kind = datatype === "BOOL" ? "a boolean" : datatype.startsWith("FP") ? "a number" : "an integer";
  return new BadRequest(`input "${input.name}": ${at} is ${show(v)}; every value must be ${kind} (${datatype})`);
}

/** Fills `out` from (possibly nested) `data` laid out as `shape`, checking every level's length. */
function fillNested(input, data, shape, depth, out, pos, convert) {
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new BadRequest(`input "${input.name}": data does not match shape ${fmt(shape)} (at depth ${depth} expected ${shape[depth]} values, got ${Array.isArray(data) ? data.length : show(data)})`);
  }
  if (depth === shape.length - 1) {
    for (let i = 0; i < data.length; i++) {
      const x = convert(data[i]);
      if (x === undefined) throw badValue(input, data[i], `value ${pos}`);
      out[pos++] = x;
    }
    return pos;
  }
  for (let i = 0; i < data.length; i++) pos = fillNested(input, data[i], shape, depth + 1, out, pos, convert);
  return pos;
}

/** data (flat, nested or a scalar) in `shape` → an onnxruntime tensor of the input's type. */
function toTensor(input, shape, data) {
  const entry = TYPES[input.type];
  if (!entry) throw new BadRequest(`input "${input.name}" is of type ${input.type}, which this server cannot build from JSON`);
  const [, Typed, convert] = entry;
  checkShape(input, shape);
  const total = product(shape);
  if (!Array.isArray(data)) data = [data];
  // Bounds the allocation: a body of at most MAX_BODY_BYTES cannot carry more values than this.
  if (total > MAX_BODY_BYTES / 2) throw new BadRequest(`input "${input.name}": shape ${fmt(shape)} holds ${total} values, more than one request can carry`);
  const out = new Typed(total);
  if (data.length > 0 && Array.isArray(data[0]) && shape.length > 0) {
    fillNested(input, data, shape, 0, out, 0, convert);
  } else {
    if (data.length !== total) throw new BadRequest(`input "${input.name}": shape ${fmt(shape)} needs ${total} values, data has ${data.length}`);
    for (let i = 0; i < total; i++) {
      const x = convert(data[i]);
      if (x === undefined) throw badValue(input, data[i], `value ${i}`);
      out[i] = x;
    }
  }
  return new ort.Tensor(input.type, out, shape);
}

/** Rows of feature values (the MLflow row formats) → an N×F tensor for the model's one input. */
function rowsToTensor(rows, width, what) {
  if (!rowInput) {
    const names = inputs.map((i) => `"${i.name}" ${expectedShape(i)}`).join(", ");
    throw new BadRequest(`this model takes ${names}, not rows of features; send {"inputs": {"<input name>": [...]}} or use /v2/models/${opts.name}/infer`);
  }
  if (!Array.isArray(rows) || rows.length === 0) throw new BadRequest(`${what} must be a non-empty list of rows`);
  const features = rowInput.shape[1] >= 0 ? rowInput.shape[1] : width ?? (Array.isArray(rows[0]) ? rows[0].length : 0);
  if (width !== null && width !== features) throw new BadRequest(`expected ${features} features per row, got ${width} columns`);
  if (features === 0) throw new BadRequest(`${what}: every row needs at least one feature`);
  if (rows.length * features > MAX_BODY_BYTES / 2) throw new BadRequest(`${what}: too many values for one request`);
  const [, Typed, convert] = TYPES[rowInput.type];
  const out = new Typed(rows.length * features);
  let pos = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row)) throw new BadRequest(`${what}: row ${r} must be a list of ${features} values, got ${show(row)}`);
    if (row.length !== features) throw new BadRequest(`expected ${features} features per row, got ${row.length} (row ${r})`);
    for (let c = 0; c < features; c++) {
      const x = convert(row[c]);
      if (x === undefined) throw badValue(rowInput, row[c], `row ${r}, column ${c}`);
      out[pos++] = x;
    }
  }
  return new ort.Tensor(rowInput.type, out, [rows.length, features]);
}

/** dataframe_records: the first record's keys fix the column order; every record must have them all. */
function recordsToRows(records) {
  if (!Array.isArray(records) || records.length === 0) throw new BadRequest("dataframe_records must be a non-empty list of objects");
  const first = records[0];
  if (!first || typeof first !== "object" || Array.isArray(first)) throw new BadRequest("dataframe_records: each record must be an object of column → value");
  const columns = Object.keys(first);
  const rows = new Array(records.length);
  for (let r = 0; r < records.length; r++) {
    const rec = records[r];
    if (!rec || typeof rec !== "object" || Array.isArray(rec)) throw new BadRequest(`dataframe_records: record ${r} must be an object of column → value`);
    const row = new Array(columns.length);
    for (let c = 0; c < columns.length; c++) {
      if (!(columns[c] in rec)) throw new BadRequest(`dataframe_records: record ${r} has no column "${columns[c]}" (the first record's columns are ${columns.join(", ")})`);
      row[c] = rec[columns[c]];
    }
    rows[r] = row;
  }
  return { rows, width: columns.length };
}

// ---------------------------------------------------------------------------------------------------
// Tensors → JSON

function plain(data) {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return Array.from(data);
}

/** Elements [offset, offset + product(shape)) of `flat`, nested as `shape`. */
function nest(flat, offset, shape) {
  if (shape.length === 0) return flat[offset];
  if (shape.length === 1) return plain(flat.subarray(offset, offset + shape[0]));
  const inner = shape.slice(1);
  const step = product(inner);
  const out = new Array(shape[0]);
  for (let i = 0; i < shape[0]; i++) out[i] = nest(flat, offset + i * step, inner);
  return out;
}

function scalar(v) {
  return typeof v === "bigint" ? Number(v) : v;
}

/** MLflow's answer: per example a row, or an object of rows when there are several outputs. */
function predictions(results, rows) {
  const names = session.outputNames;
  const tensors = names.map((n) => results[n]);
  if (!tensors.every((t) => t.dims.length > 0 && t.dims[0] === rows)) {
    // Not one value per example: answer each output whole, as MLflow does for tensor outputs.
    const whole = (t) => (t.dims.length === 0 ? scalar(t.data[0]) : nest(t.data, 0, t.dims));
    return names.length === 1 ? whole(tensors[0]) : Object.fromEntries(names.map((n, k) => [n, whole(tensors[k])]));
  }
  const inner = tensors.map((t) => t.dims.slice(1));
  const steps = inner.map(product);
  const row = (k, i) => (inner[k].length === 0 ? scalar(tensors[k].data[i]) : nest(tensors[k].data, i * steps[k], inner[k]));
  const out = new Array(rows);
  for (let i = 0; i < rows; i++) {
    if (names.length === 1) out[i] = row(0, i);
    else {
      const obj = {};
      for (let k = 0; k < names.length; k++) obj[names[k]] = row(k, i);
      out[i] = obj;
    }
  }
  return out;
}

/** Inputs passed every check above, so what onnxruntime still refuses (a dynamic dimension the graph cannot take) is the caller's to fix. */
async function run(feeds, fetches) {
  try {
    return await session.run(feeds, fetches);
  } catch (err) {
    throw new BadRequest(`the model could not run on this input: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Handlers

async function infer(body) {
  if (!body || typeof body !== "object" || !Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw new BadRequest(`the body must be {"inputs": [{"name", "shape", "datatype", "data"}]}; this model's inputs are ${inputs.map((i) => `"${i.name}" ${expectedShape(i)}`).join(", ")}`);
  }
  const feeds = {};
  for (const req of body.inputs) {
    if (!req || typeof req !== "object") throw new BadRequest("each entry of inputs must be an object");
    const input = inputByName.get(req.name);
    if (!input) throw new BadRequest(`unknown input ${show(req.name)}; this model's inputs are ${inputs.map((i) => `"${i.name}"`).join(", ")}`);
    if (feeds[input.name]) throw new BadRequest(`input "${input.name}" is given twice`);
    if (!Array.isArray(req.shape) || !req.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new BadRequest(`input "${input.name}": shape must be a list of non-negative integers, e.g. ${expectedShape(input).replace("N", "1")}`);
    }
    if (req.datatype !== undefined && !DATATYPES.has(req.datatype)) {
      throw new BadRequest(`input "${input.name}": unknown datatype ${show(req.datatype)}; use ${input.datatype} (FP32, FP64, INT32 and INT64 are converted to it)`);
    }
    if (req.data === undefined) throw new BadRequest(`input "${input.name}" has no data`);
    feeds[input.name] = toTensor(input, req.shape, req.data);
  }
  const missing = inputs.filter((i) => !feeds[i.name]);
  if (missing.length > 0) throw new BadRequest(`missing input ${missing.map((i) => `"${i.name}" ${expectedShape(i)}`).join(", ")}`);
  let fetches = session.outputNames;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new BadRequest(`outputs must be a list of {"name": ...}`);
    fetches = body.outputs.map((o) => {
      if (!outputNames.has(o?.name)) throw new BadRequest(`unknown output ${show(o?.name)}; this model's outputs are ${[...outputNames].map((n) => `"${n}"`).join(", ")}`);
      return o.name;
    });
  }
  const results = await run(feeds, fetches);
  return {
    model_name: opts.name,
    ...(version ? { model_version: version } : {}),
    ...(typeof body.id === "string" ? { id: body.id } : {}),
    outputs: fetches.map((name) => {
      const t = results[name];
      return { name, shape: Array.from(t.dims), datatype: datatypeOf(t.type), data: plain(t.data) };
    }),
  };
}

function inferNestedShape(data) {
  const shape = [];
  for (let d = data; Array.isArray(d); d = d[0]) shape.push(d.length);
  return shape;
}

async function invocations(body) {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new BadRequest(`the body must be a JSON object with one of dataframe_split, dataframe_records, instances or inputs`);
  let feeds;
  let rows;
  if (body.dataframe_split !== undefined) {
    const split = body.dataframe_split;
    if (!split || typeof split !== "object" || !Array.isArray(split.data)) throw new BadRequest(`dataframe_split must be {"columns": [...], "data": [[...], ...]}`);
    if (split.columns !== undefined && !Array.isArray(split.columns)) throw new BadRequest("dataframe_split.columns must be a list of column names");
    const tensor = rowsToTensor(split.data, split.columns ? split.columns.length : null, "dataframe_split.data");
    feeds = { [rowInput.name]: tensor };
    rows = tensor.dims[0];
  } else if (body.dataframe_records !== undefined) {
    const { rows: values, width } = recordsToRows(body.dataframe_records);
    const tensor = rowsToTensor(values, width, "dataframe_records");
    feeds = { [rowInput.name]: tensor };
    rows = tensor.dims[0];
  } else if (body.instances !== undefined || Array.isArray(body.inputs)) {
    const key = body.instances !== undefined ? "instances" : "inputs";
    const tensor = rowsToTensor(body[key], null, key);
    feeds = { [rowInput.name]: tensor };
    rows = tensor.dims[0];
  } else if (body.inputs && typeof body.inputs === "object") {
    feeds = {};
    for (const [name, data] of Object.entries(body.inputs)) {
      const input = inputByName.get(name);
      if (!input) throw new BadRequest(`unknown input "${name}"; this model's inputs are ${inputs.map((i) => `"${i.name}"`).join(", ")}`);
      feeds[name] = toTensor(input, inferNestedShape(data), data);
    }
    const missing = inputs.filter((i) => !feeds[i.name]);
    if (missing.length > 0) throw new BadRequest(`missing input ${missing.map((i) => `"${i.name}" ${expectedShape(i)}`).join(", ")}`);
    rows = feeds[inputs[0].name].dims[0] ?? 1;
  } else {
    throw new BadRequest(`the body must hold one of dataframe_split, dataframe_records, instances or inputs (MLflow's scoring formats)`);
  }
  const results = await run(feeds, session.outputNames);
  return { predictions: predictions(results, rows) };
}

// ---------------------------------------------------------------------------------------------------
// HTTP

function send(res, status, json, headers) {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json), ...headers });
  res.end(json);
}

const sendError = (res, status, message, headers) => send(res, status, JSON.stringify({ error: message }), headers);

/**
 * The body as JSON. Past the limit the rest is still read and dropped (up to DISCARD_BYTES more) before
 * the 413 goes out: a client still writing when the connection closes sees a broken pipe, not the answer.
 */
function readJson(req) {
  return new Promise((resolve, reject) => {
    const tooLarge = (close) => new BadRequest(`the request body is over the ${MAX_BODY_BYTES}-byte limit (send fewer rows per request)`, 413, close);
    if (Number(req.headers["content-length"]) > MAX_BODY_BYTES + DISCARD_BYTES) return reject(tooLarge(true));
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_BODY_BYTES + DISCARD_BYTES) {
        req.pause();
        reject(tooLarge(true));
      } else chunks.length = 0;
    });
    req.on("error", reject);
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) return reject(tooLarge(false));
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString("utf8");
      if (text.trim() === "") return reject(new BadRequest("the request body is empty; send a JSON object"));
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new BadRequest(`the request body is not valid JSON: ${err.message}`));
      }
    });
  });
}

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

/** [allowed method, handler]: the handler answers a JSON-able value or throws BadRequest. */
function route(path) {
  switch (path) {
    case "/v2/health/live":
      return ["GET", () => ({})];
    case "/v2/health/ready":
      return ["GET", () => ({ ready: true })];
    case "/v2":
      return ["GET", () => ({ name: "cairn-model-server", version: "1", extensions: [] })];
    case "/ping":
    case "/health":
      return ["GET", () => ({})];
    case "/invocations":
      return ["POST", (body) => invocations(body)];
  }
  const m = MODEL_PATH.exec(path);
  if (!m) return null;
  let name;
  try {
    name = decodeURIComponent(m[1]);
  } catch {
    return null;
  }
  const notFound = () => {
    throw new BadRequest(`no model ${JSON.stringify(name)}${m[2] ? ` version ${m[2]}` : ""} here; this server serves ${JSON.stringify(opts.name)}${version ? ` version ${version}` : ""}`, 404);
  };
  const known = name === opts.name && (!m[2] || m[2] === version);
  if (m[3] === "/infer") return ["POST", known ? (body) => infer(body) : notFound];
  if (m[3] === "/ready") return ["GET", known ? () => ({ name: opts.name, ready: true }) : notFound];
  return ["GET", known ? () => METADATA : notFound];
}

/**
 * With a secret (--secret-from-stdin, --secret-env), every request must carry it: other local processes, or other
 * pods of the cluster, cannot call the model behind the gateway's back. The health probes (the kubelet's) need none.
 */
let SECRET = null;
const SECRET_HEADER = "x-cairn-replica-secret";

const PROBES = new Set(["/v2/health/live", "/v2/health/ready"]);

function authorized(req) {
  if (SECRET === null) return true;
  if (req.method === "GET" && PROBES.has(req.url)) return true;
  const got = Buffer.from(String(req.headers[SECRET_HEADER] ?? ""));
  return got.length === SECRET.length && timingSafeEqual(got, SECRET);
}

async function handle(req, res) {
  if (!authorized(req)) return sendError(res, 401, "this model server answers Cairn's inference gateway only: call /serve/<team>/<deployment>/… with a team token");
  const q = req.url.indexOf("?");
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const found = route(path);
  if (!found) return sendError(res, 404, `no endpoint ${path}; this server answers /v2/models/${opts.name}/infer (Open Inference Protocol v2) and /invocations (MLflow)`);
  const [method, handler] = found;
  if (req.method !== method) return sendError(res, 405, `${path} answers ${method}, not ${req.method}`, { allow: method });
  const body = method === "POST" ? await readJson(req) : undefined;
  const result = await handler(body);
  send(res, 200, typeof result === "string" ? result : JSON.stringify(result));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (res.headersSent) return res.destroy();
    if (err instanceof BadRequest) {
      // An upload refused before its end was read leaves the connection unusable: close it.
      return sendError(res, err.status, err.message, err.close ? { connection: "close" } : undefined);
    }
    process.stderr.write(`model-server: ${req.method} ${req.url} failed: ${err?.stack ?? err}\n`);
    sendError(res, 500, `inference failed: ${err instanceof Error ? err.message : String(err)}`);
  });
});

let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // Requests in flight get a moment to finish; keep-alive connections do not hold the exit.
  setTimeout(() => process.exit(0), DRAIN_MS).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

// A parent that holds our stdin and dies (even by SIGKILL) closes it: no replica outlives its manager.
if (opts.exitOnStdinClose) {
  process.stdin.on("end", shutdown).on("close", shutdown).on("error", shutdown).resume();
}

// One inference before serving: onnxruntime's first run allocates and plans, and a request should not pay for it.
try {
  const feeds = {};
  for (const input of inputs) feeds[input.name] = new ort.Tensor(input.type, new TYPES[input.type][1](product(input.shape.map((d) => (d < 0 ? 1 : d)))), input.shape.map((d) => (d < 0 ? 1 : d)));
  await session.run(feeds);
} catch {
  // a model whose inputs cannot be zero-filled simply pays on its first request
}

if (opts.secretFromStdin) {
  SECRET = await secretLine;
  if (SECRET.length < 16) usage("the secret on stdin must be at least 16 characters");
} else if (opts.secretEnv !== null) {
  SECRET = Buffer.from(process.env[opts.secretEnv] ?? "");
  if (SECRET.length < 16) usage(`the secret in $${opts.secretEnv} must be at least 16 characters`);
}

server.on("error", (err) => {
  process.stderr.write(`model-server: cannot listen on ${opts.host}:${opts.port}: ${err.message}\n`);
  process.exit(1);
});
server.listen(opts.port, opts.host, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port, pid: process.pid })}\n`);
});
