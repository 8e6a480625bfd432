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

test("a wrong password says so, and repeated failures make that address wait, saying how long", async ({ page }) => {
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
  // The waits double (1 s, 2 s, 4 s …): within a few more tries one lands inside a wait.
  let text = "";
  for (let i = 0; i < 6 && !text.startsWith("Too many attempts"); i++) {
    await page.getByLabel("Password").fill(`more-${i}`);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
    text = (await page.getByRole("main").getByRole("alert").textContent()) ?? "";
  }
  expect(text).toMatch(/^Too many attempts; try again in \d+ s\.$/);
});

test("signing in leaves a device cookie, with which this browser is counted on its own when its address is held", async ({ page }) => {
  await signIn(page, "mle@example.com");
  const device = (await page.context().cookies()).find((c) => c.name === "cairn-device");
  expect(device).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
  expect(device!.value).toMatch(/^v2\.[A-Za-z0-9_-]+\.[0-9a-z]+\.[A-Za-z0-9_-]+$/);
  expect(device!.value).not.toContain("mle");
  // About 180 days, renewed at each sign-in.
  expect(device!.expires * 1000 - Date.now()).toBeGreaterThan(170 * 86_400_000);
});

test("a callbackUrl off this site is ignored: signing in lands on our own home page", async ({ page, baseURL }) => {
  for (const callbackUrl of ["%2F%09%2Fevil.example", "%0A", "%2F%2Fevil.example", "https%3A%2F%2Fevil.example"]) {
    const res = await page.goto(`/login?callbackUrl=${callbackUrl}`);
    expect(res?.status(), callbackUrl).toBe(200);
  }
  await page.goto("/login?callbackUrl=%2F%09%2Fevil.example");
  await page.getByLabel("Email").fill("ds@example.com");
  await page.getByLabel("Password").fill("cairn-demo");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Welcome, Dana" })).toBeVisible();
  expect(new URL(page.url()).origin).toBe(new URL(baseURL!).origin);
  // Signed in, the login page redirects to the (sanitized) callback rather than failing.
  const res = await page.goto("/login?callbackUrl=%0A");
  expect(res?.status()).toBe(200);
  expect(new URL(page.url()).origin).toBe(new URL(baseURL!).origin);
});

test("signing out ends the session on the server: a copy of the cookie stops working", async ({ page, browser, baseURL }) => {
  await signIn(page, "mle@example.com");
  const copied = (await page.context().cookies()).filter((c) => c.name.includes("next-auth.session-token"));
  expect(copied.length).toBeGreaterThan(0);
  const thief = await browser.newContext({ baseURL });
  await thief.addCookies(copied);
  expect((await thief.request.get("/api/v1/me")).status()).toBe(200);
  await page.getByLabel("User menu").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  expect((await thief.request.get("/api/v1/me")).status()).toBe(401);
  await thief.close();
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

test("with JavaScript off the form posts: no credential in any URL, a refusal keeps the email, success signs in", async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
  const page = await context.newPage();
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await page.goto("/login?callbackUrl=%2Fteams");
  await page.getByLabel("Email").fill("ds@example.com");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toHaveText("Wrong email or password.");
  await expect(page.getByLabel("Email")).toHaveValue("ds@example.com");
  await page.getByLabel("Password").fill("cairn-demo");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/teams");
  await expect(page.getByRole("heading", { name: "Teams", exact: true })).toBeVisible();
  expect(urls.filter((u) => /password|cairn-demo|not-the-password/.test(u))).toEqual([]);
  await context.close();
});

test("a sign-in submitted before the page's JavaScript has loaded posts, keeps the email, and signs in", async ({ page }) => {
  // Hold every script until the form has been submitted: the submit happens on the server-rendered form.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/_next/static/**/*.js", async (route) => {
    await held;
    await route.continue();
  });
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await page.goto("/login", { waitUntil: "domcontentloaded" });
  await page.getByLabel("Email").fill("lead@example.com");
  await page.getByLabel("Password").fill("cairn-demo");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  // The page it lands on has its scripts held too: wait for the navigation, not for the page to load.
  await page.waitForURL((url) => url.pathname === "/", { waitUntil: "commit" });
  release();
  await expect(page.getByRole("heading", { name: "Welcome, Lee" })).toBeVisible();
  expect(urls.filter((u) => /password|cairn-demo/.test(u))).toEqual([]);
});

test("a refused sign-in after hydration keeps what was typed", async ({ page }) => {
  await page.goto("/login");
  await expect(page.getByRole("button", { name: "Use ds@example.com" })).toBeVisible();
  await page.getByLabel("Email").fill("ds@example.com");
  await page.getByLabel("Password").fill("wrong-again");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toHaveText("Wrong email or password.");
  await expect(page.getByLabel("Email")).toHaveValue("ds@example.com");
  await expect(page.getByLabel("Password")).toHaveValue("wrong-again");
  // A demo account's button fills both fields and clears the message.
  await page.getByRole("button", { name: "Use ds@example.com" }).click();
  await expect(page.getByLabel("Password")).toHaveValue("cairn-demo");
  await expect(page.getByRole("main").getByRole("alert")).toHaveCount(0);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/");
});
