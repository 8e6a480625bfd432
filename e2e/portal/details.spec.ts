import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("the model page says what serves where, with MLflow's stage kept only as a label", async ({ page }) => {
  await signIn(page, "lead@example.com");
  await page.goto("/models/churn-classifier?team=churn");
  const versions = page.getByRole("table", { name: "Versions" });
  const headers = (await versions.getByRole("columnheader").allInnerTexts()).map((h) => h.trim().toLowerCase());
  expect(headers).toContain("serves");
  expect(headers).not.toContain("stage");
  await expect(versions.getByRole("row").filter({ hasText: "production" })).toHaveCount(1);
  // No version is labelled "Production" beside the one that serves it.
  await expect(versions.getByText("Production", { exact: true })).toHaveCount(0);
  await versions.getByRole("link", { name: "Version 3" }).click();
  await expect(page.getByText("(label for MLflow clients)")).toBeVisible();
});

test("a run opens on tabs: numbers in a table, charts only for series, artifacts one click away", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/experiments?team=churn");
  await page.getByRole("link", { name: "churn-gbm-sweep" }).click();
  await page.getByRole("table", { name: "Runs" }).locator("tbody").getByRole("link").first().click();
  const sections = page.getByRole("navigation", { name: "Run sections" });
  for (const tab of ["Overview", "Metrics", "Parameters", "Artifacts", "Logs & system"]) await expect(sections.getByRole("link", { name: new RegExp(`^${tab}`) })).toBeVisible();
  await expect(page.getByRole("table", { name: "Latest metrics" })).toBeVisible();
  await sections.getByRole("link", { name: /^Metrics/ }).click();
  const all = page.getByRole("table", { name: "All metrics" });
  await expect(all).toBeVisible();
  const logged = await all.locator("tbody tr").evaluateAll((rows) => rows.map((r) => Number((r.lastElementChild as HTMLElement).innerText.replace(/,/g, ""))));
  const seriesCount = logged.filter((n) => n > 1).length;
  await expect(page.getByRole("figure", { name: /^Chart of / })).toHaveCount(seriesCount);
  await sections.getByRole("link", { name: /^Artifacts/ }).click();
  const files = page.getByRole("list", { name: "Artifacts" });
  await expect(files).toBeVisible();
  expect((await files.boundingBox())!.y).toBeLessThan(720);
});

test("a skip link leads past the navigation, and the approval's deadline reads as it was set", async ({ page }) => {
  await signIn(page, "lead@example.com");
  await page.goto("/approvals");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await skip.press("Enter");
  await expect(page).toHaveURL(/#main$/);
  // The demo holds one pending request, made when the server started: it expires in 7 days, not 6.
  const row = page.getByRole("table", { name: "Approval requests" }).getByRole("row").filter({ hasText: "pending" }).first();
  await row.getByRole("link").first().click();
  await expect(page.getByRole("main").getByRole("status").first()).toContainText("expires in 7 days");
});

test("Try it starts from the input example logged with the model", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/deployments?team=churn");
  await page.getByRole("table", { name: "Deployments" }).getByRole("link", { name: /churn-classifier/ }).first().click();
  await expect(page.getByTestId("try-source")).toHaveText("Filled with the input example logged with the model (model/input_example.json).");
  await expect(page.getByLabel("Request body (JSON)")).toHaveValue(/845/);
});
