import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

const ROLES = [
  { email: "admin@example.com", name: "Ada Admin", role: "Platform admin", sees: ["Admin", "Audit"], hidden: [] as string[] },
  { email: "lead@example.com", name: "Lee Lead", role: "Team lead · churn", sees: ["Audit"], hidden: ["Admin"] },
  { email: "mle@example.com", name: "Max Engineer", role: "ML engineer · churn", sees: [], hidden: ["Admin", "Audit"] },
  { email: "ds@example.com", name: "Dana Scientist", role: "Data scientist · churn", sees: [], hidden: ["Admin", "Audit"] },
  { email: "lead.fraud@example.com", name: "Fran Lead", role: "Team lead · fraud", sees: ["Audit"], hidden: ["Admin"] },
  { email: "ds.fraud@example.com", name: "Sam Scientist", role: "Data scientist · fraud", sees: [], hidden: ["Admin", "Audit"] },
];

test("the login page lists the demo accounts", async ({ page }) => {
  await page.goto("/login");
  const demo = page.getByRole("complementary", { name: "Demo accounts" });
  await expect(demo).toContainText("cairn-demo");
  for (const r of ROLES) await expect(demo).toContainText(r.email);
  await page.getByRole("button", { name: "Use lead@example.com" }).click();
  await expect(page.getByLabel("Email")).toHaveValue("lead@example.com");
  await expect(page.getByLabel("Password")).toHaveValue("cairn-demo");
});

for (const r of ROLES) {
  test(`${r.email} signs in, sees their role and navigation, and signs out`, async ({ page }) => {
    await signIn(page, r.email);
    await expect(page.getByRole("heading", { name: `Welcome, ${r.name.split(" ")[0]}` })).toBeVisible();
    await expect(page.getByTestId("current-role")).toHaveText(r.role);
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const item of ["Experiments", "Models", "Jobs", "Deployments", "Approvals", "Costs", "Teams", "Settings", ...r.sees]) {
      await expect(nav.getByRole("link", { name: item })).toBeVisible();
    }
    for (const item of r.hidden) await expect(nav.getByRole("link", { name: item })).toHaveCount(0);
    await page.getByLabel("User menu").click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto("/teams");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Fteams/);
  });
}

test("a wrong password says so, and repeated failures are rate-limited", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill("ds@example.com");
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toHaveText("Wrong email or password.");

  const email = `nobody-${Date.now()}@example.com`;
  await page.getByLabel("Email").fill(email);
  for (let i = 0; i < 5; i++) {
    await page.getByLabel("Password").fill(`guess-${i}`);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("main").getByRole("alert")).toHaveText("Wrong email or password.");
  }
  await page.getByLabel("Password").fill("one-more");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("Too many failed sign-in attempts for this account");
});

test("signing in returns to the page that asked for it", async ({ page }) => {
  await page.goto("/settings/tokens");
  await expect(page).toHaveURL(/callbackUrl=%2Fsettings%2Ftokens/);
  await page.getByLabel("Email").fill("ds@example.com");
  await page.getByLabel("Password").fill("cairn-demo");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/settings\/tokens$/);
  await expect(page.getByRole("heading", { name: "API tokens" })).toBeVisible();
});
