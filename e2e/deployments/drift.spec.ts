import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { expect, test } from "@playwright/test";
import { api, signIn } from "../helpers";

// Drift monitoring end to end (issue 17, items 3–5): the churn example (examples/churn/train.mjs) trains against
// this server and logs its model with reference/profile.json; the version is registered and deployed to staging;
// the Monitoring section says there are no samples yet; the ML engineer samples every request, sends a drifted
// input stream through the model's stable address, and the section shows the drift (PSI per feature, reference
// beside live); a drift alert rule fires and its webhook reaches a receiver here. The drift worker and the alerts
// worker run every 2 s in the e2e server (CAIRN_DRIFT_INTERVAL_MS, CAIRN_ALERT_INTERVAL_MS in playwright.config.ts).
const run = promisify(execFile);

test("a drifted input stream shows on the Monitoring section and fires a drift alert whose webhook is received", async ({ page, baseURL }) => {
  test.setTimeout(240_000);
  const received: { text: string; state: string; rule: string; kind: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      received.push(JSON.parse(body) as (typeof received)[number]);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slack`;
  const suffix = Date.now().toString(36);
  const model = `churn-drift-${suffix}`;
  const rule = `ChurnDrift${suffix}`;
  let deploymentId = "";
  let ruleId = "";
  try {
    await signIn(page, "mle@example.com");
    const minted = await page.request.post("/api/v1/tokens", { data: { name: `e2e-drift-${suffix}`, team: "churn", expires_in_days: 1 }, headers: { origin: baseURL! } });
    expect(minted.status()).toBe(201);
    const token = ((await minted.json()) as { token: string }).token;
    const bearer = { authorization: `Bearer ${token}` };

    // Train the churn example against this server: it logs the model (ONNX, signature, input example) and the reference profile.
    const trained = await run(process.execPath, ["examples/churn/train.mjs", "--epochs", "3", "--epoch-delay-ms", "0"], {
      env: { ...process.env, MLFLOW_TRACKING_URI: baseURL!, MLFLOW_TRACKING_TOKEN: token, MLFLOW_EXPERIMENT_NAME: `drift-e2e-${suffix}` },
      timeout: 120_000,
    });
    const runId = /run (\w+) FINISHED/.exec(trained.stdout)?.[1];
    expect(runId, trained.stdout + trained.stderr).toBeTruthy();
    expect(trained.stdout).toContain("reference/profile.json");

    // Register it and deploy version 1 to staging.
    const mlflow = (path: string, data: unknown) => page.request.post(`/api/2.0/mlflow/${path}`, { headers: bearer, data });
    expect((await mlflow("registered-models/create", { name: model })).status()).toBe(200);
    expect((await mlflow("model-versions/create", { name: model, source: `runs:/${runId}/model`, run_id: runId })).status()).toBe(200);
    const deployed = await api(page).POST("/api/v1/models/{name}/deploy", { params: { path: { name: model } }, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false } });
    expect(deployed.response.status).toBe(201);
    deploymentId = (deployed.data as { deployment_id: string }).deployment_id;
    await page.goto(`/deployments/${deploymentId}`);
    await expect(page.getByText("1 of 1 serving")).toBeVisible({ timeout: 60_000 });

    // Before any traffic: the reference is the run's profile, and there are no samples yet.
    const monitoring = page.getByRole("region", { name: "Monitoring" });
    await expect(monitoring).toContainText("Reference: reference/profile.json logged with the run");
    await expect(monitoring).toContainText("No samples yet.");

    // Sample every request (the page's form), then alert on any feature's drift.
    await monitoring.getByLabel("Requests sampled (%)").fill("100");
    await monitoring.getByRole("button", { name: "Save" }).click();
    await expect(monitoring).toContainText("100.0 % of answered requests are sampled");
    const created = await api(page).POST("/api/v1/alert-rules", {
      body: { team: "churn", name: rule, kind: "drift", deployment_id: deploymentId, threshold: 0.25, min_requests: 10, window_seconds: 3600, webhook_urls: [hook] },
    });
    expect(created.response.status).toBe(201);
    ruleId = (created.data as { id: string }).id;

    // A drifted stream through the model's stable staging address: charges and usage far above anything trained on,
    // every customer month-to-month with no tenure.
    const stable = `/serve/churn/${model}/staging/v2/models/${model}/infer`;
    for (let i = 0; i < 40; i++) {
      const row = [0, 400 + i, 0, 2, 3, 2, 0, 1, 9, 900 + i, 1];
      const res = await page.request.post(stable, { headers: bearer, data: { inputs: [{ name: "features", shape: [1, 11], datatype: "FP32", data: row }] } });
      expect(res.status()).toBe(200);
    }

    // The drift worker computes the window; the page shows it (reloaded until it does).
    const table = monitoring.getByRole("table", { name: "Drift and data quality per feature" });
    await expect(async () => {
      await page.reload();
      await expect(table.getByRole("row").filter({ hasText: "monthly_charges" })).toContainText("significant shift", { timeout: 2_000 });
    }).toPass({ timeout: 60_000 });
    await expect(table.getByRole("row").filter({ hasText: "avg_monthly_usage_gb" })).toContainText("significant shift");
    await expect(table.getByRole("row").filter({ hasText: "prediction" })).toBeVisible();
    await expect(monitoring.getByRole("figure", { name: "Chart of drift (PSI) per feature over time" })).toBeVisible();
    // The reference beside the live distribution of a chosen feature.
    await monitoring.getByLabel("Feature", { exact: true }).selectOption("monthly_charges");
    await expect(monitoring.getByRole("figure", { name: "Chart of monthly_charges: reference beside live" })).toBeVisible();

    // The API answers the same figures.
    const drift = await api(page).GET("/api/v1/deployments/{id}/drift", { params: { path: { id: deploymentId } } });
    expect(drift.response.status).toBe(200);
    const charges = (drift.data as { features: { name: string; latest: { psi: number; samples: number } | null }[] }).features.find((f) => f.name === "monthly_charges")!;
    expect(charges.latest!.psi).toBeGreaterThan(0.25);
    expect(charges.latest!.samples).toBeGreaterThanOrEqual(40);

    // The drift alert fires and its webhook reaches the receiver.
    await expect.poll(() => received.filter((r) => r.rule === rule).map((r) => r.state), { timeout: 60_000 }).toContain("firing");
    const firing = received.find((r) => r.rule === rule)!;
    expect(firing.kind).toBe("drift");
    expect(firing.text).toMatch(new RegExp(`^\\[FIRING\\] ${rule} \\(team churn\\): drift .* \\(any feature\\) is PSI \\d`));
    await page.goto("/alerts?team=churn");
    await expect(page.getByRole("table", { name: "Active alerts" }).getByRole("row").filter({ hasText: rule })).toContainText("firing");
  } finally {
    await new Promise((r) => receiver.close(r));
    // Leave the team as the demo had it: the rule and the deployment go.
    if (ruleId) await api(page).DELETE("/api/v1/alert-rules/{id}", { params: { path: { id: ruleId } } }).catch(() => undefined);
    if (deploymentId) await api(page).DELETE("/api/v1/deployments/{id}", { params: { path: { id: deploymentId } } }).catch(() => undefined);
  }
});
