import { expect } from "@playwright/test";
import type { APIRequestContext, Page } from "@playwright/test";

export const PASSWORD = "cairn-demo";

export async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/");
}

/** Signs in through next-auth's credentials endpoint on a bare request context (no browser). */
export async function signInRequest(request: APIRequestContext, email: string): Promise<void> {
  const { csrfToken } = (await (await request.get("/api/auth/csrf")).json()) as { csrfToken: string };
  const res = await request.post("/api/auth/callback/credentials", { form: { csrfToken, email, password: PASSWORD, json: "true" } });
  expect(res.ok()).toBeTruthy();
}
