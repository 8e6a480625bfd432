import { expect, test } from "@playwright/test";
import { api, signIn } from "../helpers";

test("deploy a version to staging, try it, see where it is deployed, stop it", async ({ page }) => {
  await signIn(page, "ds@example.com");

  // The demo's classifier is served in production (v3) and staging (v4): the registry says where.
  await page.goto("/models");
  const row = page.getByRole("table", { name: "Registered models" }).getByRole("row", { name: /churn-classifier/ });
  await expect(row).toContainText("production v3");
  await expect(row).toContainText("staging v4");

  // Deploy v2 from its version page.
  await row.getByRole("link", { name: "churn-classifier" }).click();
  await page.getByRole("table", { name: "Versions" }).getByRole("link", { name: "Version 2", exact: true }).click();
  await expect(page.getByRole("heading", { name: "churn-classifier · version 2" })).toBeVisible();
  await page.getByLabel("Replicas").fill("2");
  await page.getByRole("button", { name: "Deploy to staging" }).click();
  await expect(page).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/);
  const id = page.url().split("/").pop()!;
  await expect(page.getByRole("heading", { name: "churn-classifier v2 · staging" })).toBeVisible();
  await expect(page.getByText("2 of 2 serving")).toBeVisible({ timeout: 30_000 });
  // The model's staging address reaches the staging deployment that began serving last: this one; the snippet calls it.
  await expect(page.getByText("The model's staging address: it reaches this deployment now")).toBeVisible();
  await expect(page.getByText(`/serve/churn/${id}`).first()).toBeVisible();
  await page.getByText("Call it from code").click();
  await expect(page.getByText('curl -X POST "$CAIRN_URL/serve/churn/churn-classifier/staging/v2/models/churn-classifier/infer"')).toBeVisible();

  // Try it: an Open Inference Protocol request from the model's logged input example (two encoded customers of 11
  // features), then MLflow's format.
  await expect(page.getByLabel("Request body (JSON)")).toHaveValue(/"shape": \[\s*2,\s*11\s*\]/);
  await page.getByRole("button", { name: "Send request" }).click();
  const response = page.getByRole("region", { name: "Response" });
  await expect(response).toContainText("HTTP 200");
  await expect(response).toContainText('"probabilities"');
  await page.getByLabel("Endpoint").selectOption("invocations");
  await page.getByRole("button", { name: "Send request" }).click();
  await expect(response).toContainText('"predictions"');
  // A request the model cannot take is answered with what was wrong.
  await page.getByLabel("Request body (JSON)").fill('{"inputs": [[1, 2, 3]]}');
  await page.getByRole("button", { name: "Send request" }).click();
  await expect(response).toContainText("HTTP 400");
  await expect(response).toContainText("11");

  // Traffic over time, from the Prometheus Cairn started itself (the Debian binary CI installs).
  await expect(page.getByRole("figure", { name: "Chart of Requests per second" })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("figure", { name: "Chart of Latency (gateway, ms)" })).toBeVisible();
  // The page says where the figures come from (Cairn's own rollups while the managed Prometheus is still starting).
  await expect(page.getByText(/^From (Prometheus|Cairn's own per-minute rollups)/)).toBeVisible();

  // The deployments list and the registry show the new deployment.
  await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "Deployments" }).click();
  const mine = page.getByRole("table", { name: "Deployments" }).getByRole("row").filter({ has: page.getByRole("link", { name: "churn-classifier v2" }) });
  await expect(mine).toContainText("ready");
  await expect(mine).toContainText(`/serve/churn/${id}`);
  await page.goto("/models");
  await expect(page.getByRole("table", { name: "Registered models" }).getByRole("row", { name: /churn-classifier/ })).toContainText("staging v2");
  // The model page lists its stable addresses and what each reaches now.
  await page.getByRole("table", { name: "Registered models" }).getByRole("row", { name: /churn-classifier/ }).getByRole("link", { name: "churn-classifier" }).click();
  const endpoints = page.getByRole("list", { name: "Endpoints" });
  await expect(endpoints.getByRole("listitem").filter({ hasText: "/serve/churn/churn-classifier/production" })).toContainText("serves v3");
  await expect(endpoints.getByRole("listitem").filter({ hasText: "/serve/churn/churn-classifier/staging" })).toContainText("serves v2");

  // Stop it: the record stays, stopped, and the registry no longer lists it.
  await page.goto("/deployments");
  page.once("dialog", (d) => void d.accept());
  await mine.getByRole("button", { name: "Stop churn-classifier v2 (staging)" }).click();
  await expect(mine).toContainText("stopped");
  await page.goto(`/deployments/${id}`);
  await expect(page.getByRole("list", { name: "Deployment events" })).toContainText("stopped by ds@example.com");
  await page.goto("/models");
  await expect(page.getByRole("table", { name: "Registered models" }).getByRole("row", { name: /churn-classifier/ })).not.toContainText("staging v2");
});

test("another team sees none of churn's deployments", async ({ page }) => {
  await signIn(page, "ds.fraud@example.com");
  await page.goto("/deployments");
  await expect(page.getByRole("table", { name: "Deployments" })).not.toContainText("churn-classifier");
  const { data, response } = await api(page).GET("/api/v1/deployments");
  expect(response.status).toBe(200);
  const { deployments } = data as { deployments: { team: string }[] };
  expect(deployments.every((d) => d.team !== "churn")).toBe(true);
});
