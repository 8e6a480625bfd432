import { expect, test } from "@playwright/test";
import type { Browser, Page, Request } from "@playwright/test";
import { api, signIn } from "../helpers";

/** Submits a form on the page and returns the server action request it sent (its id and body). */
async function captureAction(page: Page, submit: () => Promise<void>): Promise<Request> {
  const [request] = await Promise.all([page.waitForRequest((r) => r.method() === "POST" && !!r.headers()["next-action"]), submit()]);
  return request;
}

/** Replays a captured server action as another user, with a body of our choosing. */
async function replayAs(browser: Browser, baseURL: string, email: string, action: Request, path: string, body: unknown): Promise<number> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await signIn(page, email);
  const res = await context.request.post(path, {
    headers: { "next-action": action.headers()["next-action"]!, "content-type": "text/plain;charset=UTF-8", origin: baseURL, accept: "text/x-component" },
    data: JSON.stringify([body]),
  });
  await context.close();
  return res.status();
}

test("raw calls to the quota and member actions: a team lead cannot change quotas, a data scientist neither quotas nor members, another team's lead sees nothing", async ({ page, browser, baseURL }) => {
  test.setTimeout(120_000);
  const QUOTA = { cpu: 64, memory_gib: 256, gpus: 8, gpus_by_type: null, max_concurrent_jobs: 10, max_deployments: 10, storage_gib: 500, monthly_budget_usd: 5000, limit_range: null };

  // The admin saves churn's quota through the form: that gives the quota action's id.
  await signIn(page, "admin@example.com");
  await page.goto("/teams/churn");
  const quotaForm = page.getByRole("form", { name: "Quota" });
  const quotaAction = await captureAction(page, () => quotaForm.getByRole("button", { name: "Save quota" }).click());
  await expect(quotaForm.getByRole("status")).toHaveText("Saved.");

  for (const email of ["lead@example.com", "ds@example.com"]) {
    expect(await replayAs(browser, baseURL!, email, quotaAction, "/teams/churn", { team: "churn", quota: { ...QUOTA, gpus: 1000, cpu: 10000 } }), email).toBe(403);
  }
  expect(await replayAs(browser, baseURL!, "lead.fraud@example.com", quotaAction, "/teams/churn", { team: "churn", quota: { ...QUOTA, gpus: 1000 } })).toBe(404);
  const churn = { params: { path: { slug: "churn" } } };
  const team = (await api(page).GET("/api/v1/teams/{slug}", churn)).data as { quota: object };
  expect(team.quota).toMatchObject({ gpus: 8, cpu: 64 });

  // The team lead adds a member through the form: that gives the member action's id.
  const lead = await (await browser.newContext({ baseURL })).newPage();
  await signIn(lead, "lead@example.com");
  await lead.goto("/teams/churn");
  const add = lead.getByRole("form", { name: "Add member" });
  // An email nobody uses is invited (a link to send), not given an account.
  const stranger = `authz-${Date.now().toString(36)}@example.com`;
  await add.getByLabel("Email").fill(stranger);
  await add.getByLabel("Role").selectOption("data_scientist");
  await add.getByRole("button", { name: "Add member" }).click();
  await expect(lead.getByRole("region", { name: "Invitation link" })).toContainText(`Invitation created for ${stranger}`);
  await expect(lead.getByRole("table", { name: "Members" }).getByRole("row").filter({ hasText: stranger })).toContainText("Invitation pending");
  // An existing account (the fraud team's data scientist) is added.
  const email = "ds.fraud@example.com";
  await add.getByLabel("Email").fill(email);
  await add.getByLabel("Role").selectOption("data_scientist");
  const addAction = await captureAction(lead, () => add.getByRole("button", { name: "Add member" }).click());
  await expect(lead.getByRole("table", { name: "Members" })).toContainText(email);
  await expect(lead.getByText(`Added ${email} to churn as Data scientist.`)).toBeVisible();

  expect(await replayAs(browser, baseURL!, "ds@example.com", addAction, "/teams/churn", { team: "churn", email: "sneaky@example.com", role: "team_lead" })).toBe(403);
  expect(await replayAs(browser, baseURL!, "lead.fraud@example.com", addAction, "/teams/churn", { team: "churn", email: "sneaky@example.com", role: "team_lead" })).toBe(404);
  const members = ((await api(page).GET("/api/v1/teams/{slug}", churn)).data as { members: { email: string }[] }).members.map((m) => m.email);
  expect(members).toContain(email);
  expect(members).not.toContain("sneaky@example.com");

  // Clean up: the lead removes the member again, after confirming on the page.
  await lead.getByRole("button", { name: `Remove ${email}` }).click();
  const confirm = lead.getByRole("alertdialog", { name: "Confirm removal" });
  await expect(confirm).toContainText(`Remove ${email} from churn?`);
  await confirm.getByRole("button", { name: "Yes, remove" }).click();
  await expect(lead.getByText(`Removed ${email} from churn.`)).toBeVisible();
  await expect(lead.getByRole("table", { name: "Members" })).not.toContainText(email);
});
