import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

const usd = (text: string) => Number(text.split("\n")[0]!.replace(/[$,<>]/g, ""));
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

// The demo's vision team spent about $1,700 this month on gpu.large (4 × A100) fine-tunes, split by kind as the meter
// splits it; its seeded job history carries CPU and memory samples, so efficiency is measured.
test("the Costs page splits vision's spend into CPU, memory, A100 GPU and storage, groups it by job by name, and downloads the CSV", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/costs?team=vision");
  await expect(page.getByRole("heading", { name: "Allocation: CPU, memory, GPU and storage" })).toBeVisible();

  const byTeam = page.getByRole("table", { name: "Cost allocation by team" });
  const vision = byTeam.getByRole("row").filter({ hasText: "Computer Vision" });
  await expect(vision).toHaveCount(1);
  const cells = vision.getByRole("cell");
  // Name, CPU, Memory, GPU (with its types), Storage, Total, Efficiency, Idle.
  expect(usd(await cells.nth(1).innerText())).toBeGreaterThan(0);
  expect(usd(await cells.nth(2).innerText())).toBeGreaterThan(0);
  await expect(cells.nth(3)).toContainText("nvidia-a100");
  expect(usd(await cells.nth(3).innerText())).toBeGreaterThan(usd(await cells.nth(1).innerText()));
  expect(usd(await cells.nth(5).innerText())).toBeGreaterThan(1000);
  await expect(cells.nth(6)).toHaveText(/\d+ %/);
  await expect(page.getByText(/GPU use is not measured/)).toBeVisible();

  // By job: names, never ids; a shareable URL.
  await page.getByLabel("Allocate by").selectOption("job");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await expect(page).toHaveURL(/by=job/);
  const byJob = page.getByRole("table", { name: "Cost allocation by job" });
  await expect(byJob.getByRole("row").filter({ hasText: "resnet fine-tune 1 on gpu.large" })).toHaveCount(1);
  for (const text of await byJob.getByRole("row").allInnerTexts()) expect(text).not.toMatch(UUID);

  // The chargeback CSV of the same view.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
  expect(download.suggestedFilename()).toMatch(/^cairn-costs-by-job-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync((await download.path())!, "utf8");
  const lines = csv.trimEnd().split("\r\n");
  expect(lines[0]).toMatch(/^job,teams,from,to,currency,total_usd,cpu_usd,memory_usd,gpu_usd,gpu_usd_nvidia-a100,storage_usd,/);
  expect(lines.some((l) => l.startsWith("resnet fine-tune 1 on gpu.large,vision,"))).toBe(true);
  expect(lines.at(-1)).toMatch(/^Total,vision,/);
  expect(csv).not.toMatch(UUID);
});

test("a member sees cost per model version and per 1,000 predictions beside cost per run, for their own team only", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/costs");
  await expect(page.getByRole("table", { name: "Cost per model version and per 1,000 predictions" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Cost per run" })).toBeVisible();
  const byTeam = page.getByRole("table", { name: "Cost allocation by team" });
  await expect(byTeam.getByRole("row").filter({ hasText: "Customer Churn" })).toHaveCount(1);
  await expect(byTeam.getByRole("row").filter({ hasText: /Computer Vision|Fraud/ })).toHaveCount(0);
});
