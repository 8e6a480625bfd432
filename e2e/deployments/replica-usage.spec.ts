import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("a deployment's page charts its replicas' CPU and memory, read from the replica processes", async ({ page }) => {
  await signIn(page, "ds@example.com");

  // The demo serves churn-classifier in production with one local replica.
  await page.goto("/deployments");
  const row = page.getByRole("table", { name: "Deployments" }).getByRole("row").filter({ hasText: "production" }).filter({ has: page.getByRole("link", { name: /churn-classifier v\d+/ }) });
  await row.first().getByRole("link", { name: /churn-classifier v\d+/ }).click();
  await expect(page.getByText(/1 of 1 serving/)).toBeVisible({ timeout: 30_000 });

  // The sampler runs every 2 s here (playwright.config.ts); the chart refreshes while the deployment is live.
  await expect(page.getByText("CPU and memory of the replicas together read from the replica processes (/proc) every few seconds.")).toBeVisible();
  await expect(page.getByRole("figure", { name: "Chart of CPU (cores)" })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("figure", { name: "Chart of Memory (GiB)" })).toBeVisible();
  await expect(page.getByText(/Peak memory \d+\.\d\d GiB of \d+\.\d\d GiB requested\./)).toBeVisible();

  // The same figures, to the deployment's team only, over the API.
  const id = page.url().split("/").pop()!;
  const res = await page.request.get(`/api/v1/deployments/${id}/resources`);
  expect(res.status()).toBe(200);
  const body = (await res.json()) as { source: string; samples: { cpu_cores: number; memory_bytes: number; replicas: number | null }[] };
  expect(body.source).toBe("process");
  expect(body.samples.length).toBeGreaterThan(0);
  expect(body.samples.at(-1)!.memory_bytes).toBeGreaterThan(0);
  expect(body.samples.at(-1)!.replicas).toBe(1);
});
