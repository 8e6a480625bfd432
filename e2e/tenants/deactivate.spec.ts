import { expect, test } from "@playwright/test";
import type { Browser, Page } from "@playwright/test";
import { signIn } from "../helpers";

const PASSWORD = "deactivate-me-please";

/** A fresh user of churn: the lead invites through the API, the invitee sets a password on the link's page. */
async function freshMember(browser: Browser, baseURL: string): Promise<{ email: string; page: Page }> {
  const lead = await (await browser.newContext({ baseURL })).newPage();
  await signIn(lead, "lead@example.com");
  const email = `leaving-${Date.now().toString(36)}@example.com`;
  const res = await lead.request.post("/api/v1/teams/churn/members", { data: { email, role: "data_scientist" }, headers: { origin: baseURL } });
  expect(res.status()).toBe(202);
  const { invite_url } = (await res.json()) as { invite_url: string };
  await lead.context().close();
  const page = await (await browser.newContext({ baseURL })).newPage();
  await page.goto(new URL(invite_url).pathname);
  await page.getByLabel("Your name").fill("Leaving User");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Repeat password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password and join" }).click();
  await expect(page.getByRole("status")).toContainText("Invitation accepted");
  await signIn(page, email, PASSWORD);
  return { email, page };
}

test("an admin deactivates a user: their open session stops at once and sign-in is refused; reactivated, they sign in again", async ({ page, browser, baseURL }) => {
  test.setTimeout(120_000);
  const user = await freshMember(browser, baseURL!);
  await user.page.goto("/teams/churn");
  await expect(user.page.getByRole("heading", { name: "Customer Churn" })).toBeVisible();

  await signIn(page, "admin@example.com");
  await page.goto("/admin");
  await page.getByRole("link", { name: "Users →" }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/admin/users");
  const row = page.getByRole("table", { name: "Users" }).getByRole("row").filter({ hasText: user.email });
  await expect(row).toContainText("Active");
  await expect(row).toContainText("churn");
  // The admin's own row cannot be deactivated.
  await expect(page.getByRole("button", { name: "Deactivate admin@example.com" })).toHaveCount(0);

  await row.getByRole("button", { name: `Deactivate ${user.email}` }).click();
  const confirm = page.getByRole("alertdialog", { name: `Confirm deactivating ${user.email}` });
  await expect(confirm).toContainText("signed out and their API tokens are revoked");
  await confirm.getByRole("button", { name: "Yes, deactivate" }).click();
  await expect(row.getByRole("status")).toContainText("is deactivated");
  await expect(row).toContainText("Deactivated");

  // Their open session: the next page load is signed out.
  await user.page.reload();
  await expect(user.page).toHaveURL((url) => url.pathname === "/login");
  expect((await user.page.request.get("/api/v1/me")).status()).toBe(401);
  // Signing in again is refused.
  await user.page.getByLabel("Email").fill(user.email);
  await user.page.getByLabel("Password").fill(PASSWORD);
  await user.page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(user.page.getByRole("main").getByRole("alert")).toHaveText("This account has been deactivated. Ask a platform admin to reactivate it.");
  await expect(user.page).toHaveURL((url) => url.pathname === "/login");

  // Reactivated, they sign in again.
  await row.getByRole("button", { name: `Reactivate ${user.email}` }).click();
  await expect(row.getByRole("status")).toContainText("can sign in again");
  await expect(row).toContainText("Active");
  await signIn(user.page, user.email, PASSWORD);
});

test("a data scientist cannot open the users list", async ({ page }) => {
  await signIn(page, "ds@example.com");
  expect((await page.goto("/admin/users"))?.status()).toBe(403);
});
