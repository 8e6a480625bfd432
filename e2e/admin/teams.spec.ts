import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("an admin creates a team; bad input is refused with a field error", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
  await page.getByLabel("Name").fill("Bad Slug");
  await page.getByLabel("Slug").fill("Bad Slug!");
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.locator("#slug-error")).toContainText("lowercase");

  await page.getByLabel("Name").fill("Recommendations");
  await page.getByLabel("Slug").fill("recs");
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.getByRole("status")).toContainText("Team recs created");
  await expect(page.getByRole("table", { name: "All teams" })).toContainText("cairn-recs");

  await page.getByLabel("Name").fill("Again");
  await page.getByLabel("Slug").fill("recs");
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.locator("#slug-error")).toContainText("taken");

  await page.getByRole("link", { name: "Recommendations" }).click();
  await expect(page.getByRole("heading", { name: "Recommendations" })).toBeVisible();

  // Archive and restore it.
  await page.goto("/admin");
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Archive team recs" }).click();
  await expect(page.getByRole("table", { name: "All teams" })).toContainText("Recommendations (archived)");
  expect((await page.goto("/teams/recs"))?.status()).toBe(404);
  await page.goto("/admin");
  await page.getByRole("button", { name: "Restore team recs" }).click();
  await expect(page.getByRole("link", { name: "Recommendations" })).toBeVisible();
});

test("the team switcher changes the working team", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.getByLabel("Switch team").selectOption("fraud");
  await expect(page.getByLabel("Switch team")).toHaveValue("fraud");
  await page.goto("/settings/tokens");
  await expect(page.locator("#team")).toHaveValue("fraud");
});

test("the admin console says how jobs are contained on this host", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/admin");
  // CI runs Cairn as root with bubblewrap installed: each job gets its own uid in a sandbox.
  const isolation = page.getByRole("region", { name: /Job isolation/ });
  await expect(isolation.getByRole("heading")).toContainText("Job isolation: sandboxed, own uid per job");
  await expect(isolation).toContainText("no view of the data dir");
});
