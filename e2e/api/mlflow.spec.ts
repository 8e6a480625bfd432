import { expect, test } from "@playwright/test";
import type { APIRequestContext } from "@playwright/test";
import { signInRequest } from "../helpers";

async function tokenFor(request: APIRequestContext, baseURL: string, email: string, team: string): Promise<string> {
  await signInRequest(request, email);
  const res = await request.post("/api/v1/tokens", { data: { name: `e2e-${Date.now()}`, team, expires_in_days: 1 }, headers: { origin: baseURL } });
  expect(res.status()).toBe(201);
  return (await res.json()).token as string;
}

test("an MLflow client journey over HTTP, with isolation between teams", async ({ playwright, baseURL }) => {
  const session = await playwright.request.newContext({ baseURL });
  const token = await tokenFor(session, baseURL!, "ds@example.com", "churn");
  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
  const M = "/api/2.0/mlflow";

  const missing = await api.get(`${M}/experiments/get-by-name?experiment_name=e2e-http`);
  expect(missing.status()).toBe(404);
  expect((await missing.json()).error_code).toBe("RESOURCE_DOES_NOT_EXIST");
  const created = await api.post(`${M}/experiments/create`, { data: { name: "e2e-http" } });
  const experimentId = (await created.json()).experiment_id as string;
  const run = (await (await api.post(`${M}/runs/create`, { data: { experiment_id: experimentId, run_name: "http-run", start_time: Date.now(), tags: [] } })).json()).run;
  const runId = run.info.run_id as string;
  expect(run.info.artifact_uri).toBe(`mlflow-artifacts:/${experimentId}/${runId}/artifacts`);

  // Python's json module writes bare NaN; Cairn accepts it and answers "NaN".
  const batch = await api.post(`${M}/runs/log-batch`, {
    // A Buffer, so the body goes out byte for byte (a string would be JSON-encoded again).
    data: Buffer.from(`{"run_id": "${runId}", "metrics": [{"key": "loss", "value": NaN, "timestamp": ${Date.now()}, "step": 0}, {"key": "loss", "value": 0.5, "timestamp": ${Date.now()}, "step": 1}], "params": [{"key": "lr", "value": "0.1"}]}`),
    headers: { "content-type": "application/json" },
  });
  expect(batch.status(), await batch.text()).toBe(200);
  const history = await (await api.get(`${M}/metrics/get-history?run_id=${runId}&metric_key=loss`)).json();
  expect(history.metrics.map((m: { value: unknown }) => m.value)).toEqual(["NaN", 0.5]);

  // MLflow's UI prefix serves the same API to a token (no redirect to the sign-in page), and answers 401 without one.
  const ajax = await api.get(`/ajax-api/2.0/mlflow/runs/get?run_id=${runId}`, { maxRedirects: 0 });
  expect(ajax.status()).toBe(200);
  expect((await ajax.json()).run.info.run_id).toBe(runId);
  const anonymous = await playwright.request.newContext({ baseURL });
  const refused = await anonymous.get(`/ajax-api/2.0/mlflow/runs/get?run_id=${runId}`, { maxRedirects: 0 });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error_code).toBe("UNAUTHENTICATED");
  // What the lane leaves to Next under that prefix reaches the route too, not the sign-in page (proxy.ts).
  const anonymousPut = await anonymous.put(`/ajax-api/2.0/mlflow/runs/get`, { maxRedirects: 0 });
  expect(anonymousPut.status()).toBe(405);
  await anonymous.dispose();

  const put = await api.put(`/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/report.html`, { data: "<script>alert(1)</script>", headers: { "content-type": "text/html" } });
  expect(put.status()).toBe(200);
  const download = await api.get(`/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/report.html`);
  expect(download.headers()["content-disposition"]).toContain("attachment");
  expect(download.headers()["x-content-type-options"]).toBe("nosniff");
  expect(download.headers()["content-type"]).toBe("application/octet-stream");

  for (const escape of ["%2e%2e%2f%2e%2e%2fpasswd", "%252E%252E%252Fpasswd", "..%5cpasswd", "a%00b", "C:%2fx", "file:%2f%2fetc%2fpasswd"]) {
    const res = await api.put(`/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${escape}`, { data: "x" });
    expect(res.status(), escape).toBe(400);
  }
  const listing = await (await api.get(`/api/2.0/mlflow-artifacts/artifacts?path=${experimentId}/${runId}/artifacts`)).json();
  expect(listing.files.map((f: { path: string }) => f.path)).toEqual(["report.html"]);

  const search = await api.post(`${M}/runs/search`, { data: { experiment_ids: [experimentId], filter: "params.lr = '0.1' or params.lr = '0.2'" } });
  expect((await search.json()).runs).toHaveLength(1);
  const bad = await api.post(`${M}/runs/search`, { data: { experiment_ids: [experimentId], filter: "metrics.acc > 0 OR 1=1 --" } });
  expect(bad.status()).toBe(400);
  expect((await bad.json()).message).toMatch(/position/);

  // Another team's token sees none of it.
  const fraudSession = await playwright.request.newContext({ baseURL });
  const fraudToken = await tokenFor(fraudSession, baseURL!, "ds.fraud@example.com", "fraud");
  const fraud = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${fraudToken}` } });
  expect((await fraud.get(`${M}/runs/get?run_id=${runId}`)).status()).toBe(404);
  expect((await fraud.get(`${M}/experiments/get?experiment_id=${experimentId}`)).status()).toBe(404);
  expect((await fraud.post(`${M}/runs/search`, { data: { experiment_ids: [experimentId] } })).status()).toBe(404);
  expect((await fraud.get(`/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/report.html`)).status()).toBe(404);
  const names = ((await (await fraud.post(`${M}/experiments/search`, { data: {} })).json()).experiments as { name: string }[]).map((e) => e.name);
  expect(names).not.toContain("e2e-http");
  // A write about another team's run answers like a read: not found.
  expect((await fraud.post(`${M}/runs/log-metric`, { data: { run_id: runId, key: "x", value: 1, timestamp: 0, step: 0 } })).status()).toBe(404);
  for (const c of [session, api, fraudSession, fraud]) await c.dispose();
});
