// Settings → Security: the sessions a user is signed in with, signing the others out, changing the password.
import { expect, test } from "@playwright/test";
import { PASSWORD, signIn } from "../helpers";

test("signing out the other sessions ends a second browser's session at once", async ({ browser, baseURL }) => {
  const email = "ds.fraud@example.com";
  const here = await browser.newContext({ baseURL });
  const there = await browser.newContext({ baseURL });
  try {
    const a = await here.newPage();
    const b = await there.newPage();
    await signIn(b, email);
    await signIn(a, email);
    await a.goto("/settings/security");
    await expect(a.getByRole("heading", { name: "Security" })).toBeVisible();
    await expect(a.getByRole("link", { name: "Security", exact: true })).toHaveAttribute("aria-current", "page");
    await expect(a.getByTestId("session-row").filter({ hasText: "this browser" })).toHaveCount(1);
    expect(await a.getByTestId("session-row").count()).toBeGreaterThanOrEqual(2);

    a.once("dialog", (d) => void d.accept());
    await a.getByRole("button", { name: "Sign out all other sessions" }).click();
    await expect(a.getByRole("status")).toContainText("signed out");
    await expect(a.getByTestId("session-row")).toHaveCount(1);

    // The other browser's cookie is worth nothing now.
    await b.goto("/experiments");
    await expect(b).toHaveURL(/\/login/);
    // This one is still signed in.
    await a.goto("/experiments");
    await expect(a).toHaveURL(/\/experiments$/);
  } finally {
    await here.close();
    await there.close();
  }
});

test("changing the password needs the current one, then only the new one signs in", async ({ page }) => {
  const email = "lead.fraud@example.com";
  const next = "a-brand-new-password-7";
  const changeTo = async (current: string, to: string) => {
    await page.goto("/settings/security");
    await page.getByLabel("Current password").fill(current);
    await page.getByLabel("New password", { exact: true }).fill(to);
    await page.getByLabel("Repeat new password").fill(to);
    await page.getByRole("button", { name: "Change password" }).click();
  };
  await signIn(page, email);
  try {
    await changeTo("not-my-password", next);
    await expect(page.getByText("Not your current password")).toBeVisible();
    await changeTo(PASSWORD, next);
    await expect(page.getByRole("status")).toContainText("Password changed");

    await page.context().clearCookies();
    await page.goto("/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("main").getByRole("alert")).toContainText("Wrong email or password");
    await signIn(page, email, next);
  } finally {
    // Put the demo password back for the other specs.
    await page.context().clearCookies();
    await signIn(page, email, next).catch(() => undefined);
    if (page.url().endsWith("/")) {
      await changeTo(next, PASSWORD);
      await expect(page.getByRole("status")).toContainText("Password changed");
    }
  }
});
