import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

// The demo seed charges the demo jobs' history at start: churn's jobs ran on cpu.large.
test("a member sees their team's costs and budget, and groups them by resource", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Costs" }).click();
  await expect(page.getByRole("heading", { name: "Costs", level: 1 })).toBeVisible();

  // Budgets: only the member's team.
  await expect(page.getByRole("heading", { name: "Budgets" })).toBeVisible();
  const churnBudget = page.getByRole("meter", { name: "churn budget" });
  await expect(churnBudget).toHaveAttribute("aria-valuemax", "5000");
  await expect(churnBudget).toHaveAttribute("aria-valuetext", /^\$[\d,.]+ of \$5,000\.00 this month \(\d+ %\)$/);
  await expect(page.getByRole("meter", { name: "fraud budget" })).toHaveCount(0);
  await expect(page.getByRole("meter", { name: "vision budget" })).toHaveCount(0);

  // Totals by team: churn, with a positive amount.
  const byTeam = page.getByRole("table", { name: "Cost by team" });
  const churn = byTeam.getByRole("row").filter({ has: page.getByRole("link", { name: "churn", exact: true }) });
  await expect(churn).toHaveCount(1);
  const amount = Number((await churn.getByRole("cell").nth(1).innerText()).replace(/[$,]/g, ""));
  expect(amount).toBeGreaterThan(0);
  await expect(byTeam.getByRole("row", { name: /fraud|vision/ })).toHaveCount(0);
  await expect(page.getByRole("figure", { name: "Spend by day and team" })).toBeVisible();

  // Group by resource: a shareable URL, and churn's cpu.large.
  await page.getByLabel("Group by").selectOption("resource");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/[?&]aggregate=resource(&|$)/);
  const byResource = page.getByRole("table", { name: "Cost by resource" });
  await expect(byResource.getByRole("row", { name: /cpu\.large/ })).toHaveCount(1);

  // The day-by-day table carries the same keys as the chart.
  await page.getByText("Show as a table").click();
  await expect(page.getByRole("table", { name: "Spend by day" }).getByRole("columnheader", { name: "cpu.large" })).toBeVisible();

  // The team filter is not the top bar's team switcher.
  await expect(page.getByLabel("Team filter")).toHaveCount(1);
});

test("an admin sees every team's budget and narrows to one team", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/costs");
  for (const team of ["churn", "fraud", "vision"]) {
    await expect(page.getByRole("meter", { name: `${team} budget` })).toBeVisible();
  }
  await expect(page.getByRole("table", { name: "Cost by team" }).getByRole("link", { name: "churn", exact: true })).toBeVisible();

  // The team filter narrows the totals and the budgets to one team.
  await page.getByLabel("Team filter").selectOption("vision");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/[?&]team=vision(&|$)/);
  await expect(page.getByRole("meter", { name: "vision budget" })).toBeVisible();
  await expect(page.getByRole("meter", { name: "churn budget" })).toHaveCount(0);
  await expect(page.getByRole("table", { name: "Cost by team" }).getByRole("link", { name: "churn", exact: true })).toHaveCount(0);
});

test("an invalid window in the URL is explained, not a crash", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/costs?window=0d");
  const alert = page.getByRole("main").getByRole("alert");
  await expect(alert).toContainText("window must be a duration such as 7d, 30d or 12w");
  await expect(alert).toContainText("'0d'");
  // The form is still there to fix it.
  await expect(page.getByRole("button", { name: "Apply" })).toBeVisible();
});
