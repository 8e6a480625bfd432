import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("create an experiment, see its empty runs table, archive and restore it", async ({ page }) => {
  await signIn(page, "mle@example.com");
  await page.goto("/experiments");
  await page.getByRole("button", { name: "New experiment" }).click();
  await page.getByLabel("Experiment name").fill("e2e-lifecycle");
  await page.getByRole("button", { name: "Create experiment" }).click();
  await expect(page.getByRole("heading", { name: "e2e-lifecycle" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Runs" })).toContainText("No runs match");

  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Archive experiment" }).click();
  await expect(page.getByText("archived", { exact: true })).toBeVisible();
  await page.goto("/experiments?archived=1");
  await expect(page.getByRole("table", { name: "Experiments" })).toContainText("e2e-lifecycle");
  await page.getByRole("link", { name: "e2e-lifecycle" }).click();
  await page.getByRole("button", { name: "Restore experiment" }).click();
  await expect(page.getByRole("button", { name: "Archive experiment" })).toBeVisible();

  // A duplicate name in the same team is refused with a clear message.
  await page.goto("/experiments");
  await page.getByRole("button", { name: "New experiment" }).click();
  await page.getByLabel("Experiment name").fill("e2e-lifecycle");
  await page.getByRole("button", { name: "Create experiment" }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("already exists");
});

test("a data scientist cannot archive, and another team's experiment is not found", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/experiments");
  await page.getByRole("link", { name: "churn-baseline" }).click();
  await expect(page.getByRole("heading", { name: "churn-baseline" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Archive experiment" })).toHaveCount(0);
  const id = page.url().match(/experiments\/(\d+)/)![1];

  await page.getByLabel("User menu").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, "ds.fraud@example.com");
  const res = await page.goto(`/experiments/${id}`);
  expect(res?.status()).toBe(404);
  await page.goto("/experiments");
  await expect(page.getByRole("table", { name: "Experiments" })).not.toContainText("churn-baseline");
  await expect(page.getByRole("table", { name: "Experiments" })).toContainText("fraud-xgb");
});
