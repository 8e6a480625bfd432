// Test helper: calls the MLflow tracking and artifact handlers the way the official Python client
// does over HTTP (JSON bodies that may carry bare NaN/Infinity tokens, query strings for GETs).
import { handleArtifacts } from "./artifacts-handler";
import { handleMlflow } from "./handler";

export type Answer<T = Record<string, unknown>> = { status: number; json: T; text: string; headers: Headers };
export type Query = Record<string, string | number | (string | number)[] | undefined>;

function queryString(query: Query | undefined): string {
  if (!query) return "";
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
  }
  const s = qs.toString();
  return s ? `?${s}` : "";
}

async function answer<T>(res: Response): Promise<Answer<T>> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json: json as T, text, headers: res.headers };
}

function authHeaders(token: string | null, extra?: Record<string, string>): Record<string, string> {
  return { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...extra };
}

/**
 * One MLflow REST call. `path` is relative to /api/2.0/mlflow/ ("runs/create"); a string body is sent
 * verbatim (for Python-style NaN tokens), anything else as JSON; `query` goes on the URL.
 */
export async function mlflow<T = Record<string, unknown>>(
  token: string | null,
  method: string,
  path: string,
  opts: { body?: unknown; query?: Query; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const url = `http://localhost/api/2.0/mlflow/${path}${queryString(opts.query)}`;
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  // As the mlflow client (requests) does: a JSON body goes with its Content-Length.
  const bodyHeaders: Record<string, string> = body === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
  const headers = authHeaders(token, { ...bodyHeaders, ...opts.headers });
  const req = new Request(url, { method, headers, body });
  return answer<T>(await handleMlflow(req, new URL(url).pathname.replace("/api/2.0/mlflow/", "").split("/")));
}

export const post = <T = Record<string, unknown>>(token: string | null, path: string, body: unknown) => mlflow<T>(token, "POST", path, { body });
export const get = <T = Record<string, unknown>>(token: string | null, path: string, query: Query = {}) => mlflow<T>(token, "GET", path, { query });

/**
 * One proxied-artifact call; `rawPath` is appended verbatim after /api/2.0/mlflow-artifacts/artifacts/
 * (so percent-escapes reach the handler as a client wrote them).
 */
export async function artifacts<T = Record<string, unknown>>(
  token: string | null,
  method: "GET" | "PUT" | "POST" | "DELETE",
  rawPath: string,
  opts: { body?: Uint8Array<ArrayBuffer> | string; query?: Query } = {},
): Promise<Answer<T>> {
  const url = `http://localhost/api/2.0/mlflow-artifacts/artifacts${rawPath ? `/${rawPath}` : ""}${queryString(opts.query)}`;
  const headers = authHeaders(token, opts.body === undefined ? {} : { "content-type": "application/octet-stream" });
  return answer<T>(await handleArtifacts(new Request(url, { method, headers, body: opts.body })));
}

export type RunInfo = { run_id: string; run_name: string; experiment_id: string; status: string; lifecycle_stage: string; end_time?: number; artifact_uri: string; user_id: string };
export type KV = { key: string; value: string };
export type Metric = { key: string; value: number | string; timestamp: number; step: number };
export type Run = {
  info: RunInfo;
  data: { metrics: Metric[]; params: KV[]; tags: KV[] };
  inputs: { dataset_inputs: { tags: KV[]; dataset: { name: string; digest: string } }[] };
  outputs: { model_outputs: { model_id: string; step: number }[] };
};
export type Experiment = { experiment_id: string; name: string; artifact_location: string; lifecycle_stage: string; tags: KV[]; team: string };
export type ErrorBody = { error_code: string; message: string };

/** Creates an experiment and returns its id (throws on a non-200 answer). */
export async function createExperiment(token: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await post<{ experiment_id: string }>(token, "experiments/create", { name, ...extra });
  if (res.status !== 200) throw new Error(`experiments/create ${name}: ${res.status} ${res.text}`);
  return res.json.experiment_id;
}

/** Creates a run the way mlflow.start_run() does and returns its info. */
export async function createRun(token: string, experimentId: string, extra: Record<string, unknown> = {}): Promise<RunInfo> {
  const res = await post<{ run: Run }>(token, "runs/create", {
    experiment_id: experimentId, user_id: "root", start_time: Date.now(),
    tags: [{ key: "mlflow.source.type", value: "LOCAL" }], ...extra,
  });
  if (res.status !== 200) throw new Error(`runs/create: ${res.status} ${res.text}`);
  return res.json.run.info;
}

export async function getRun(token: string, runId: string): Promise<Run> {
  const res = await get<{ run: Run }>(token, "runs/get", { run_uuid: runId, run_id: runId });
  if (res.status !== 200) throw new Error(`runs/get: ${res.status} ${res.text}`);
  return res.json.run;
}
