import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("register a version from a run, set an alias, and follow lineage back to the run", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/experiments");
  await page.getByRole("link", { name: "churn-baseline" }).click();
  await page.getByLabel("Filter runs").fill("tags.candidate = 'true'");
  await page.getByLabel("Filter runs").press("Enter");
  await expect(page.getByTestId("runs-count")).toContainText(/of [1-9] runs?/);
  const runLink = page.getByRole("table", { name: "Runs" }).locator("tbody").getByRole("link").first();
  const runName = (await runLink.textContent())!.trim();
  await runLink.click();
  await expect(page.getByRole("heading", { name: runName, level: 1 })).toBeVisible();

  // The run's model folder holds an MLmodel and a model.onnx: register it as a new model. The header's
  // Register model opens the artifacts without scrolling.
  await page.getByRole("main").getByRole("link", { name: "Register model" }).click();
  await expect(page).toHaveURL(/\?tab=artifacts$/);
  const files = page.getByRole("list", { name: "Artifacts" });
  expect((await files.boundingBox())!.y).toBeLessThan(720);
  await files.getByRole("button", { name: /^▸ model/ }).click();
  await files.getByRole("button", { name: /model\.onnx/ }).click();
  await page.getByRole("button", { name: "Register model" }).click();
  const name = `e2e-churn-${Date.now()}`;
  await page.getByLabel("Model name (new or existing)").fill(name);
  await page.getByRole("form", { name: "Register model" }).getByRole("button", { name: "Register", exact: true }).click();
  await expect(page.getByRole("status")).toContainText(`Registered ${name} version 1`);
  await page.getByRole("link", { name: `${name} version 1` }).click();

  // The version page: ONNX signature and the lineage back to the run.
  await expect(page.getByRole("heading", { name: `${name} · version 1` })).toBeVisible();
  await expect(page.getByRole("table", { name: "Inputs" })).toContainText("float32");
  await expect(page.getByText("Read from the ONNX graph (model.onnx).")).toBeVisible();
  const lineage = page.getByRole("list", { name: "Lineage" });
  await expect(lineage).toContainText("churn-baseline");

  // Set an alias on the model page; the protected production alias is refused with the reason.
  await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  const setAlias = page.getByRole("form", { name: "Set alias" });
  await setAlias.getByLabel("Alias").fill("champion");
  await setAlias.getByRole("button", { name: "Set alias" }).click();
  await expect(page.getByRole("list", { name: "Aliases" })).toContainText("@champion");
  await expect(page.getByRole("table", { name: "Alias history" })).toContainText("set to v1");
  await setAlias.getByLabel("Alias").fill("production");
  await setAlias.getByRole("button", { name: "Set alias" }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("protected");
  await expect(page.getByRole("list", { name: "Aliases" })).not.toContainText("@production");

  // Follow the lineage back to the run.
  await page.getByRole("table", { name: "Versions" }).getByRole("link", { name: "Version 1", exact: true }).click();
  await page.getByRole("list", { name: "Lineage" }).getByRole("link", { name: runName }).click();
  await expect(page).toHaveURL(/\/runs\/[0-9a-f]{32}$/);
  await expect(page.getByRole("heading", { name: runName, level: 1 })).toBeVisible();
});

test("the demo registry: aliases, stages as labels, and a side-by-side comparison", async ({ page }) => {
  await signIn(page, "lead@example.com");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Models" }).click();
  const models = page.getByRole("table", { name: "Registered models" });
  await expect(models).toContainText("churn-classifier");
  await expect(models).toContainText("@production → v3");
  await models.getByRole("link", { name: "churn-classifier" }).click();
  await expect(page.getByRole("table", { name: "Versions" }).locator("tbody tr")).toHaveCount(4);
  const compare = page.getByRole("form", { name: "Compare versions" });
  await compare.getByLabel("First version").selectOption("3");
  await compare.getByLabel("Second version").selectOption("4");
  await compare.getByRole("button", { name: "Compare" }).click();
  await expect(page.getByRole("heading", { name: "churn-classifier: v3 vs v4" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Metrics side by side" })).toContainText("auc");
  await expect(page.locator("tr[data-differs=true]").first()).toBeVisible();

  // A team lead chooses the team's protected aliases (production always stays protected).
  await page.goto("/teams/churn");
  await page.getByLabel("Aliases (comma-separated; production always included)").fill("gold");
  await page.getByRole("form", { name: "Protected aliases" }).getByRole("button", { name: "Save" }).click();
  await expect(page.getByLabel("Aliases (comma-separated; production always included)")).toHaveValue("gold, production");

  // Another team's model is a real 404.
  const res = await page.goto("/models/fraud-detector?team=fraud");
  expect(res?.status()).toBe(404);
});
