import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("an admin creates a team with its quota; bad input is refused with a field error; the new team is linked", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
  await page.getByLabel("Name").fill("Bad Slug");
  await page.getByLabel("Slug").fill("Bad Slug!");
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.locator("#slug-error")).toContainText("lowercase");

  const form = page.getByRole("form", { name: "Create team" });
  // The quota fields start at the platform's defaults.
  await expect(form.getByLabel("CPU (cores)")).toHaveValue("16");
  await expect(form.getByLabel("Monthly budget (USD)")).toHaveValue("1000");
  await page.getByLabel("Name").fill("Recommendations");
  await page.getByLabel("Slug").fill("recs");
  await form.getByLabel("CPU (cores)").fill("24");
  await form.getByLabel("Monthly budget (USD)").fill("750");
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.getByRole("status")).toContainText("Team recs created");
  await expect(page.getByRole("status").getByRole("link", { name: "Open Recommendations" })).toHaveAttribute("href", "/teams/recs");
  const teamsTable = page.getByRole("table", { name: "All teams" });
  await expect(teamsTable).toContainText("cairn-recs");
  // Per team: quota vs. use, spend this month and the budget share.
  const recs = teamsTable.getByRole("row").filter({ hasText: "cairn-recs" });
  await expect(recs).toContainText("CPU cores: 0 / 24");
  await expect(recs).toContainText("$0.00");
  await expect(recs.getByRole("meter", { name: "recs budget share" })).toHaveAttribute("aria-valuetext", "0 % of $750.00");
  const churn = teamsTable.getByRole("row").filter({ hasText: "cairn-churn" });
  await expect(churn.getByRole("meter", { name: "churn budget share" })).toHaveAttribute("aria-valuetext", /% of \$5,000\.00$/);

  await page.getByLabel("Name").fill("Again");
  await page.getByLabel("Slug").fill("recs");
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.locator("#slug-error")).toContainText("taken");

  await page.getByRole("table", { name: "All teams" }).getByRole("link", { name: "Recommendations" }).click();
  await expect(page.getByRole("heading", { name: "Recommendations" })).toBeVisible();
  await expect(page.getByRole("form", { name: "Quota" }).getByLabel("CPU (cores)")).toHaveValue("24");

  // Archive and restore it.
  await page.goto("/admin");
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Archive team recs" }).click();
  await expect(page.getByRole("table", { name: "Archived teams" })).toContainText("Recommendations (archived)");
  expect((await page.goto("/teams/recs"))?.status()).toBe(404);
  await page.goto("/admin");
  await page.getByRole("button", { name: "Restore team recs" }).click();
  await expect(page.getByRole("table", { name: "All teams" }).getByRole("link", { name: "Recommendations" })).toBeVisible();
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
  await expect(isolation).toContainText("nothing else of the host (no data dir");
  // Kernel limits where the host allows cgroups, else the reason there are none.
  await expect(isolation).toContainText(/The kernel holds each job to the CPU and memory it asked for|No kernel limits/);
});

test("/teams shows a member their teams with quota, usage, spend this month and budget share", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/teams");
  const table = page.getByRole("table", { name: "Teams" });
  await expect(table.getByRole("row")).toHaveCount(2);
  const churn = table.getByRole("row").filter({ hasText: "Customer Churn" });
  await expect(churn).toContainText("Data scientist");
  await expect(churn).toContainText(/CPU cores: [\d.]+ \/ 64/);
  await expect(churn).toContainText(/Deployments: \d+ \/ 10/);
  await expect(churn.getByRole("meter", { name: "churn budget share" })).toHaveAttribute("aria-valuetext", /^\d+ % of \$5,000\.00$/);
});
