import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("launch the churn example from the UI, watch logs and metrics arrive, and find the model", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, "ds@example.com");
  await page.goto("/experiments");
  await page.getByRole("link", { name: "churn-baseline" }).click();
  await page.getByRole("link", { name: "Train", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Launch training" })).toBeVisible();
  await expect(page.getByLabel("Experiment")).toHaveValue(/\d+/);
  await expect(page.getByLabel("Code")).toHaveValue("examples/churn");
  // The estimate: price, headroom and whether it will queue.
  await expect(page.getByTestId("cost-per-hour")).toHaveText("$0.10");
  await expect(page.getByTestId("headroom")).toContainText("of 8 free");
  await expect(page.getByTestId("admission")).toHaveText("Starts right away.");
  // A GPU count the instance type does not have is explained before submitting.
  await page.getByLabel("Instance type").selectOption("gpu.large");
  await page.getByLabel("GPUs").fill("5");
  await expect(page.getByRole("complementary", { name: "Estimate" }).getByRole("alert")).toContainText("gpu.large has 4 GPUs; you asked for 5");
  await page.getByLabel("Instance type").selectOption("cpu.small");
  await expect(page.getByTestId("admission")).toHaveText("Starts right away.");
  await page.getByRole("button", { name: "Launch training" }).click();

  await expect(page).toHaveURL(/\/jobs\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("job-log")).toContainText(/epoch\s+\d+\/30/, { timeout: 60_000 });
  await expect(page.getByRole("list", { name: "Status timeline" })).toContainText("running");
  await expect(page.getByRole("list", { name: "Status timeline" })).toContainText("succeeded", { timeout: 120_000 });

  // The run the job logged into: curves and the ONNX model.
  // The job names its run, and links it by that name; the run links back to the job.
  const jobName = (await page.getByRole("heading", { level: 1 }).innerText()).trim();
  const runName = (await page.getByRole("main").locator('a[href^="/runs/"]').first().innerText()).trim();
  expect(runName).not.toMatch(/…$/);
  await page.getByRole("main").getByRole("link", { name: runName }).click();
  await expect(page).toHaveURL(/\/runs\/[0-9a-f]{32}$/);
  await expect(page.getByRole("main").getByRole("link", { name: jobName }).first()).toBeVisible();
  await expect(page.getByRole("table", { name: "Latest metrics" })).toContainText("val_auc");
  await page.getByRole("navigation", { name: "Run sections" }).getByRole("link", { name: /Metrics/ }).click();
  await expect(page.getByRole("figure", { name: /^Chart of / }).first()).toBeVisible();
  await page.getByRole("navigation", { name: "Run sections" }).getByRole("link", { name: /Artifacts/ }).click();
  const files = page.getByRole("list", { name: "Artifacts" });
  await files.getByRole("button", { name: /^▸ model/ }).click();
  await expect(files.getByRole("button", { name: /model\.onnx/ })).toBeVisible();

  // The jobs table lists it as succeeded with its cost.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
  const firstRow = page.getByRole("table", { name: "Jobs" }).locator("tbody tr").first();
  await expect(firstRow).toContainText("succeeded");

  // Retry runs it again as a new job with the same spec.
  await firstRow.getByRole("link").first().click();
  const finished = page.url();
  await page.getByRole("button", { name: "Retry" }).click();
  await expect(page).toHaveURL((url) => /\/jobs\/[0-9a-f-]{36}$/.test(url.pathname) && url.href !== finished);
  await expect(page.getByRole("list", { name: "Status timeline" })).toContainText(/queued|admitted|running/);
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Cancel job" }).click();
  await expect(page.getByRole("list", { name: "Status timeline" })).toContainText("cancelled");
});
