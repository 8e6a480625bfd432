import { expect } from "@playwright/test";
import type { APIRequestContext, Page, PlaywrightWorkerArgs } from "@playwright/test";
import { cairnClient } from "../lib/api/client";
import type { CairnClient } from "../lib/api/client";

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

/** A request context holding a fresh one-day API token of `email` in `team` (for the MLflow REST API, say). */
export async function tokenContext(playwright: PlaywrightWorkerArgs["playwright"], baseURL: string, email: string, team: string): Promise<APIRequestContext> {
  const session = await playwright.request.newContext({ baseURL });
  await signInRequest(session, email);
  const res = await session.post("/api/v1/tokens", { data: { name: `e2e-${Date.now()}`, team, expires_in_days: 1 }, headers: { origin: baseURL } });
  expect(res.status()).toBe(201);
  const token = (await res.json()).token as string;
  await session.dispose();
  return playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
}

/** Creates an experiment through the MLflow REST API under a fresh name starting with `prefix`; answers its id. */
export async function createMlflowExperiment(mlflow: APIRequestContext, prefix: string): Promise<string> {
  const created = await mlflow.post("/api/2.0/mlflow/experiments/create", { data: { name: `${prefix}-${Date.now()}` } });
  expect(created.status(), await created.text()).toBe(200);
  return (await created.json()).experiment_id as string;
}

/**
 * The typed client of /api/v1 (lib/api/client.ts, the one Node users get) speaking through a Playwright request
 * context, so it carries that context's signed-in session: `const { data, error, response } = await
 * api(page).GET("/api/v1/deployments")`. Writes send this site's Origin, as the browser would.
 */
export function api(from: Page | APIRequestContext, baseURL?: string): CairnClient {
  const request = "request" in from ? from.request : from;
  const base = baseURL ?? ("url" in from && typeof from.url === "function" && from.url().startsWith("http") ? new URL(from.url()).origin : undefined);
  if (!base) throw new Error("api(): pass the baseURL (the page has not navigated yet)");
  return cairnClient({
    baseUrl: base,
    headers: { origin: base },
    // openapi-fetch hands over a Request; Playwright's context sends it with the session's cookies.
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      const res = await request.fetch(req.url, {
        method: req.method,
        headers: Object.fromEntries(req.headers.entries()),
        data: req.body ? Buffer.from(await req.arrayBuffer()) : undefined,
      });
      return new Response(res.status() === 204 ? null : new Uint8Array(await res.body()), { status: res.status(), headers: res.headers() });
    },
  });
}
