// Calls the MLflow REST adapter in-process, the way the Next route does: a Request with a bearer token.
import { handleMlflow } from "@/server/mlflow/handler";

const BASE = "http://localhost/api/2.0/mlflow";

export async function mlflowCall(token: string, method: "GET" | "POST", path: string, body?: string | object, query?: Record<string, string | number>): Promise<unknown> {
  const url = new URL(`${BASE}/${path}`);
  for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "user-agent": "cairn-bench" };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  const res = await handleMlflow(new Request(url, { method, headers, body: payload }), path.split("/"));
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as unknown) : null;
}

export async function createRunHttp(token: string, experimentId: number, name: string): Promise<string> {
  const res = (await mlflowCall(token, "POST", "runs/create", { experiment_id: String(experimentId), run_name: name, start_time: Date.now() })) as { run: { info: { run_id: string } } };
  return res.run.info.run_id;
}
