import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("an admin opens Platform and sees the API requests just made, the job queue and active users", async ({ page }) => {
  await signIn(page, "admin@example.com");
  // A few API requests of the admin's own session.
  for (let i = 0; i < 5; i++) expect((await page.request.get("/api/v1/me")).status()).toBe(200);
  expect((await page.request.get("/api/v1/jobs?team=churn")).status()).toBe(200);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Platform" }).click();
  await expect(page).toHaveURL(/\/admin\/platform$/);
  await expect(page.getByRole("heading", { name: "Platform", level: 1 })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Platform" })).toHaveAttribute("aria-current", "page");
  // Which source answered is said in words: Cairn's own rollups here, Prometheus where one runs.
  await expect(page.getByTestId("platform-source")).toContainText(/From (Cairn's own per-minute rollups|Prometheus)/);

  // The endpoint table lists route patterns. The page refreshes every 15 s; where Prometheus answers, a counter's
  // first scrape is its baseline, so requests keep coming while we wait.
  const endpoints = page.getByRole("table", { name: /Busiest endpoints/ });
  await expect(async () => {
    expect((await page.request.get("/api/v1/me")).status()).toBe(200);
    await expect(endpoints).toContainText("/api/v1/me", { timeout: 3_000 });
  }).toPass({ timeout: 60_000 });
  const me = endpoints.getByRole("row").filter({ hasText: "/api/v1/me" }).first();
  await expect(me).toContainText("GET");
  await expect(me.getByRole("cell").nth(2)).toHaveText(/^[1-9][\d,]*$/);
  await expect(page.getByText(/Requests \(last 1h\)/)).toBeVisible();
  await expect(page.getByRole("figure", { name: "Chart of API requests per second" })).toBeVisible();
  await expect(page.getByRole("figure", { name: "Chart of API latency (ms)" })).toBeVisible();

  // Queue, active users, storage and GPUs by team.
  await expect(page.getByRole("heading", { name: "Job queue" })).toBeVisible();
  await expect(page.getByText("Waiting now")).toBeVisible();
  await expect(page.getByRole("figure", { name: "Chart of Jobs waiting" })).toBeVisible();
  const users = page.getByRole("region", { name: "Active users" });
  await expect(users.getByText("Last 15 minutes")).toBeVisible();
  await expect(users.locator("dd").first()).not.toHaveText("0");
  await expect(page.getByRole("table", { name: "Storage by team and type" })).toContainText("churn");
  await expect(page.getByRole("table", { name: "GPUs held by running jobs" })).toContainText("vision");
  // GPU use by node says where each figure comes from; this host (local backend) shows allocated shares only.
  const gpuUse = page.getByRole("table", { name: "GPU use by team and node" });
  await expect(gpuUse.getByRole("columnheader", { name: "Source" })).toBeVisible();
  await expect(page.getByText(/On Kubernetes with PROMETHEUS_URL and NVIDIA's DCGM exporter, this becomes measured utilization/)).toBeVisible();

  // Another window reads again.
  await page.getByLabel("Window").selectOption("15m");
  await expect(page.getByText(/Requests \(last 15m\)/)).toBeVisible();
});

test("a data scientist cannot open Platform, nor read its API", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Platform" })).toHaveCount(0);
  const res = await page.goto("/admin/platform");
  expect(res?.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "You don't have access to this page" })).toBeVisible();
  const api = await page.request.get("/api/v1/platform/health");
  expect(api.status()).toBe(403);
  expect((await api.json()).error.code).toBe("forbidden");
});
