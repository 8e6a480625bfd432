import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("create a token, use it once shown, revoke it", async ({ page, playwright, baseURL }) => {
  await signIn(page, "mle@example.com");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "API tokens" })).toBeVisible();

  await page.getByLabel("Name").fill("e2e-notebook");
  await page.getByLabel("Expires after").selectOption("7");
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = (await page.getByTestId("token-secret").textContent())!.trim();
  expect(secret).toMatch(/^cairn_/);
  const row = page.getByRole("row", { name: /e2e-notebook/ });
  await expect(row).toContainText(secret.slice(0, 14));
  await expect(row).toContainText("active");

  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${secret}` } });
  const me = await api.get("/api/v1/me");
  expect(me.status()).toBe(200);
  expect((await me.json()).user.email).toBe("mle@example.com");

  // Shown once: a reload no longer shows the secret, the list never contains it.
  await page.reload();
  await expect(page.getByTestId("token-secret")).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
  await expect(page.getByRole("row", { name: /e2e-notebook/ })).toContainText(/just now|seconds? ago/);

  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Revoke e2e-notebook" }).click();
  await expect(page.getByRole("row", { name: /e2e-notebook/ })).toContainText("revoked");
  expect((await api.get("/api/v1/me")).status()).toBe(401);
  await api.dispose();
});

test("a token for another team is refused at the form", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/settings/tokens");
  await expect(page.getByLabel("Team", { exact: true })).toContainText("churn");
  await expect(page.getByLabel("Team", { exact: true }).locator("option")).toHaveCount(1);
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(page.locator("#name-error")).toContainText("Give the token a name");
});
