import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("a team lead reads their team's audit trail, filters it and verifies the chain", async ({ page }) => {
  // Make an event in churn first: a token created by the lead.
  await signIn(page, "lead@example.com");
  await page.goto("/settings/tokens");
  await page.getByLabel("Name").fill("audit-e2e");
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(page.getByTestId("token-secret")).toBeVisible();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  const table = page.getByRole("table", { name: "Audit events" });
  await expect(table).toContainText("token.create");
  await expect(table).toContainText("lead@example.com");
  // Team leads see only their own teams.
  await expect(page.getByLabel("Team", { exact: true })).not.toContainText("fraud");

  await page.getByLabel("Outcome").selectOption("denied");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/outcome=denied/);
  await expect(table.getByRole("cell", { name: "allowed", exact: true })).toHaveCount(0);

  await page.getByRole("button", { name: "Verify chain" }).click();
  await expect(page.getByTestId("verify-result")).toContainText("Chain intact");
});

test("an admin sees every team's events, including sign-ins", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/audit?action=auth.sign_in");
  await expect(page.getByRole("table", { name: "Audit events" })).toContainText("auth.sign_in");
  await expect(page.getByLabel("Team", { exact: true })).toContainText("fraud");
});
