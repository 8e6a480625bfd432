import { expect, test } from "@playwright/test";

test("single sign-on provisions a new user on first login, with no team until one is granted", async ({ page }) => {
  await page.goto("/login");
  await page.getByRole("button", { name: "Continue with Test IdP" }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/");
  await expect(page.getByRole("heading", { name: "Welcome, Sso" })).toBeVisible();
  await expect(page.getByText("You are not in a team yet")).toBeVisible();
  const me = await (await page.request.get("/api/v1/me")).json();
  expect(me).toMatchObject({ user: { email: "sso.user@example.com", is_admin: false }, teams: [] });
  // No team: member pages answer 403, Settings stays open.
  expect((await page.goto("/experiments"))?.status()).toBe(403);
  expect((await page.goto("/settings/tokens"))?.status()).toBe(200);

  // A second login finds the same user.
  await page.context().clearCookies();
  await page.goto("/login");
  await page.getByRole("button", { name: "Continue with Test IdP" }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/");
  const again = await (await page.request.get("/api/v1/me")).json();
  expect(again.user.id).toBe(me.user.id);
});
