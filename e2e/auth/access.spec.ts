import { expect, test } from "@playwright/test";
import { signIn, signInRequest } from "../helpers";

test("pages a role may not use answer 403 / 404 with an explanation, not a redirect", async ({ page }) => {
  await signIn(page, "ds@example.com");
  for (const path of ["/admin", "/audit"]) {
    const res = await page.goto(path);
    expect(res?.status(), path).toBe(403);
    await expect(page).toHaveURL(new RegExp(`${path}$`));
    await expect(page.getByRole("heading", { name: "You don't have access to this page" })).toBeVisible();
  }
  const foreign = await page.goto("/teams/fraud");
  expect(foreign?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
  const own = await page.goto("/teams/churn");
  expect(own?.status()).toBe(200);
  await expect(page.getByRole("table", { name: "Members" })).toContainText("ds@example.com");
});

test("another team's deployment and approval pages answer HTTP 404, not a 200 with a 404 body", async ({ page, playwright, baseURL }) => {
  const lead = await playwright.request.newContext({ baseURL });
  await signInRequest(lead, "lead@example.com");
  const { deployments } = (await (await lead.get("/api/v1/deployments?team=churn")).json()) as { deployments: { deployment_id: string }[] };
  const { approvals } = (await (await lead.get("/api/v1/approvals")).json()) as { approvals: { id: string }[] };
  await lead.dispose();
  await signIn(page, "lead.fraud@example.com");
  const paths = [
    ...deployments.slice(0, 1).map((d) => `/deployments/${d.deployment_id}`),
    ...approvals.slice(0, 1).map((a) => `/approvals/${a.id}`),
    "/approvals/00000000-0000-4000-8000-000000000000",
  ];
  expect(paths.length).toBeGreaterThan(1);
  for (const path of paths) {
    const res = await page.goto(path);
    expect(res?.status(), path).toBe(404);
    await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
  }
});

test("a data scientist's raw POST to an admin route gets 403 and changes nothing", async ({ playwright, baseURL }) => {
  const ds = await playwright.request.newContext({ baseURL });
  await signInRequest(ds, "ds@example.com");
  const res = await ds.post("/api/v1/teams", { data: { slug: "raw-post", name: "Raw" }, headers: { origin: baseURL! } });
  expect(res.status()).toBe(403);
  expect((await res.json()).error.code).toBe("forbidden");

  const admin = await playwright.request.newContext({ baseURL });
  await signInRequest(admin, "admin@example.com");
  const teams = (await (await admin.get("/api/v1/teams")).json()).teams as { slug: string }[];
  expect(teams.map((t) => t.slug)).not.toContain("raw-post");
  await ds.dispose();
  await admin.dispose();
});

test("a data scientist replaying the admin's create-team server action gets 403 and nothing changes", async ({ page, browser, baseURL }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/admin");
  await page.getByLabel("Name").fill("E2E Action");
  await page.getByLabel("Slug").fill("e2e-action");
  const [actionRequest] = await Promise.all([
    page.waitForRequest((r) => r.method() === "POST" && !!r.headers()["next-action"]),
    page.getByRole("button", { name: "Create team" }).click(),
  ]);
  await expect(page.getByRole("status")).toContainText("Team e2e-action created");
  const actionId = actionRequest.headers()["next-action"]!;

  const dsContext = await browser.newContext({ baseURL });
  const dsPage = await dsContext.newPage();
  await signIn(dsPage, "ds@example.com");
  const replay = await dsContext.request.post("/admin", {
    headers: { "next-action": actionId, "content-type": "text/plain;charset=UTF-8", origin: baseURL!, accept: "text/x-component" },
    data: JSON.stringify([{ slug: "e2e-replayed", name: "Replayed" }]),
  });
  expect(replay.status()).toBe(403);
  await dsContext.close();

  const teams = (await (await page.request.get("/api/v1/teams")).json()).teams as { slug: string }[];
  expect(teams.map((t) => t.slug)).toContain("e2e-action");
  expect(teams.map((t) => t.slug)).not.toContain("e2e-replayed");
});

test("x-middleware-subrequest headers change nothing", async ({ playwright, baseURL }) => {
  const spoof = { "x-middleware-subrequest": "proxy:proxy:proxy:proxy:proxy", "x-middleware-subrequest-id": "1" };
  const anon = await playwright.request.newContext({ baseURL, maxRedirects: 0 });
  for (const path of ["/admin", "/teams", "/audit"]) {
    const plain = await anon.get(path);
    const spoofed = await anon.get(path, { headers: spoof });
    expect(spoofed.status(), path).toBe(plain.status());
    expect(spoofed.headers().location, path).toBe(plain.headers().location);
    expect(plain.status()).toBe(307);
  }
  for (const path of ["/api/v1/me", "/api/v1/teams", "/api/v1/audit"]) {
    expect((await anon.get(path, { headers: spoof })).status(), path).toBe(401);
  }
  const ds = await playwright.request.newContext({ baseURL, maxRedirects: 0 });
  await signInRequest(ds, "ds@example.com");
  expect((await ds.get("/admin", { headers: spoof })).status()).toBe(403);
  expect((await ds.get("/api/v1/audit", { headers: spoof })).status()).toBe(403);
  await anon.dispose();
  await ds.dispose();
});
