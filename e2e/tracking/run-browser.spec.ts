import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { signIn } from "../helpers";

async function openSweep(page: Page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Experiments" }).click();
  await expect(page.getByRole("table", { name: "Experiments" })).toContainText("churn-gbm-sweep");
  await page.getByRole("link", { name: "churn-gbm-sweep" }).click();
  await expect(page.getByRole("heading", { name: "churn-gbm-sweep" })).toBeVisible();
  await expect(page.getByTestId("runs-count")).toContainText(/of 1\d\d runs/);
}

function runsTable(page: Page) {
  return page.getByRole("table", { name: "Runs" });
}

test("browse, filter with OR, sort, and keep it all in the URL", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await openSweep(page);

  // Add max_depth as a column.
  await page.getByText(/^Columns \(/).click();
  await page.getByRole("group", { name: "Choose columns" }).getByLabel("max_depth").check();
  await expect(page).toHaveURL(/cols=[^&]*params\.max_depth/);
  await page.getByText(/^Columns \(/).click();

  // OR across two values.
  const filter = page.getByLabel("Filter runs");
  await filter.fill("params.max_depth = '3' or params.max_depth = '9'");
  await filter.press("Enter");
  await expect(page).toHaveURL(/filter=params\.max_depth/);
  await expect(page.getByTestId("runs-count")).not.toContainText("of 150");
  const header = runsTable(page).getByRole("columnheader");
  const depthIndex = (await header.allInnerTexts()).findIndex((t) => t.includes("max_depth"));
  expect(depthIndex).toBeGreaterThan(0);
  const depths = await runsTable(page).locator("tbody tr[data-index]").evaluateAll((rows, i) => rows.map((r) => r.children[i]?.textContent?.trim()), depthIndex);
  expect(depths.length).toBeGreaterThan(0);
  for (const d of depths) expect(["3", "9"]).toContain(d);

  // Sort by auc, descending.
  await runsTable(page).getByRole("button", { name: /^auc/ }).click();
  await expect(page).toHaveURL(/order=metrics\.auc(\+|%20)DESC/);
  const aucIndex = (await header.allInnerTexts()).findIndex((t) => t.trim().startsWith("auc"));
  const aucs = (await runsTable(page).locator("tbody tr[data-index]").evaluateAll((rows, i) => rows.map((r) => r.children[i]?.textContent?.trim()), aucIndex))
    .filter((v): v is string => !!v && v !== "—").map(Number);
  expect(aucs.length).toBeGreaterThan(1);
  for (let i = 1; i < aucs.length; i++) expect(aucs[i - 1]!).toBeGreaterThanOrEqual(aucs[i]!);

  // The link reproduces the view.
  const url = page.url();
  await page.goto("/experiments");
  await page.goto(url);
  await expect(page.getByLabel("Filter runs")).toHaveValue("params.max_depth = '3' or params.max_depth = '9'");
});

test("a malformed filter shows where it is wrong", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await openSweep(page);
  await page.getByLabel("Filter runs").fill("metrics.auc > 0 OR 1=1 --");
  await expect(page.locator("#run-filter-error")).toContainText(/position \d+/);
  await expect(page.getByRole("button", { name: "Search" })).toBeDisabled();
});

test("save a view and apply it later", async ({ page }) => {
  await signIn(page, "mle@example.com");
  await openSweep(page);
  await page.getByLabel("Filter runs").fill("tags.candidate = 'true'");
  await page.getByLabel("Filter runs").press("Enter");
  await expect(page).toHaveURL(/filter=tags\.candidate/);
  // Named in the page, not in a browser prompt().
  await page.getByRole("button", { name: "Save view" }).click();
  const form = page.getByRole("form", { name: "Save view" });
  await form.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Give the view a name.")).toBeVisible();
  await form.getByLabel("View name").fill("Candidates");
  await form.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Saved “Candidates”")).toBeVisible();
  await expect(form).toHaveCount(0);

  await page.getByRole("link", { name: "churn-gbm-sweep" }).first().isVisible();
  await page.goto(page.url().split("?")[0]!);
  await expect(page.getByLabel("Filter runs")).toHaveValue("");
  await page.getByLabel("View", { exact: true }).selectOption({ label: "Candidates" });
  await expect(page).toHaveURL(/filter=tags\.candidate/);
  await expect(page.getByTestId("runs-count")).toContainText(/of [1-9] runs/);
});

test("compare runs and preview artifacts", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await openSweep(page);
  await page.getByLabel("Filter runs").fill("tags.candidate = 'true'");
  await page.getByLabel("Filter runs").press("Enter");
  await expect(page.getByTestId("runs-count")).toContainText(/of [2-9] runs/);
  const boxes = runsTable(page).locator("tbody input[type=checkbox]");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.getByRole("link", { name: "Compare 2 runs" }).click();
  await expect(page.getByRole("heading", { name: "Compare 2 runs" })).toBeVisible();
  await expect(page.locator("tr[data-differs=true]").first()).toBeVisible();
  await expect(page.getByRole("figure", { name: /^Chart of / }).first()).toBeVisible();
  await expect(page.getByRole("figure", { name: /^Scatter of / })).toBeVisible();

  // Open the first run and preview its artifacts.
  await page.getByRole("table", { name: "Parameters by run" }).getByRole("link").first().click();
  const sections = page.getByRole("navigation", { name: "Run sections" });
  await sections.getByRole("link", { name: /Metrics/ }).click();
  await expect(page.getByRole("heading", { name: "Metrics", exact: true })).toBeVisible();
  await expect(page.getByRole("figure", { name: /^Chart of / }).first()).toBeVisible();
  await sections.getByRole("link", { name: /Artifacts/ }).click();
  const artifacts = page.getByRole("list", { name: "Artifacts" });
  await artifacts.getByRole("button", { name: /metrics\.json/ }).click();
  await expect(page.getByTestId("artifact-text")).toContainText("{");
  await artifacts.getByRole("button", { name: /confusion_matrix\.csv/ }).click();
  await expect(page.getByTestId("artifact-preview").getByRole("table")).toBeVisible();
  await artifacts.getByRole("button", { name: /feature_importance\.png/ }).click();
  const img = page.getByTestId("artifact-preview").getByRole("img");
  await expect(img).toBeVisible();
  await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
  await artifacts.getByRole("button", { name: /^▸ model/ }).click();
  await artifacts.getByRole("button", { name: /MLmodel/ }).click();
  await expect(page.getByTestId("artifact-text")).toContainText("flavors");
});
