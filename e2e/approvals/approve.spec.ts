import { expect, test } from "@playwright/test";
import type { Browser, Page } from "@playwright/test";
import { api, signIn } from "../helpers";

// The demo's churn-classifier serves v3 in production (@production → v3) and v4 in staging. Specs that run
// later expect exactly that, so these journeys reject v4, approve v1, and finally roll production back to v3.

/** A card on the request page, by its title. */
const card = (page: Page, title: string) => page.locator("section").filter({ has: page.getByRole("heading", { name: title, exact: true }) });

const versionPage = (version: number) => `/models/churn-classifier/versions/${version}?team=churn`;

async function signedIn(browser: Browser, email: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, email);
  return page;
}

/** Asks for a production deploy from the version page; answers the request's id, on its page. */
async function requestProduction(page: Page, version: number, replicas: number, note: string): Promise<string> {
  await page.goto(versionPage(version));
  await expect(page.getByRole("heading", { name: `churn-classifier · version ${version}` })).toBeVisible();
  await page.getByLabel("Production replica count").fill(String(replicas));
  await page.getByLabel("Note for the team lead").fill(note);
  await page.getByRole("button", { name: "Request production deploy" }).click();
  await expect(page).toHaveURL(/\/approvals\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { name: `Production deploy: churn-classifier v${version}`, level: 1 })).toBeVisible();
  return page.url().split("/").pop()!;
}

/** The lead finds the request in the inbox, approves it and follows it to the production deployment until it serves. */
async function approveFromInbox(lead: Page, id: string, version: number, comment: string): Promise<void> {
  await lead.goto("/approvals");
  const row = lead.getByRole("table", { name: "Approval requests" }).getByRole("row").filter({ has: lead.locator(`a[href="/approvals/${id}"]`) });
  await expect(row).toContainText("mle@example.com");
  await expect(row).toContainText("Your decision");
  await row.getByRole("link", { name: `churn-classifier v${version}` }).click();
  await expect(lead).toHaveURL(new RegExp(`/approvals/${id}$`));
  await lead.getByLabel("Comment").fill(comment);
  await lead.getByRole("button", { name: "Approve and deploy" }).click();
  // It asks first, naming what it will do.
  const confirm = lead.getByRole("alertdialog", { name: "Confirm approval" });
  await expect(confirm).toContainText(`churn-classifier v${version} with`);
  await confirm.getByRole("button", { name: "Yes, approve and deploy" }).click();
  const decision = card(lead, "Decision");
  await expect(decision).toContainText("lead@example.com");
  await expect(decision).toContainText(comment);
  await expect(lead.getByRole("button", { name: "Approve and deploy" })).toHaveCount(0);
  await decision.getByRole("link", { name: /^deployment [0-9a-f]{8}$/ }).click();
  await expect(lead).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/);
  await expect(lead.getByRole("heading", { name: `churn-classifier v${version} · production` })).toBeVisible();
  await expect(lead.getByText("1 of 1 serving")).toBeVisible({ timeout: 45_000 });
}

/** The registry shows only `version` in production (the replaced deployment stops once the new one serves). */
async function expectProductionOn(page: Page, version: number, replaced: number): Promise<void> {
  await expect(async () => {
    await page.goto("/models");
    const row = page.getByRole("table", { name: "Registered models" }).getByRole("row", { name: /churn-classifier/ });
    await expect(row).toContainText(`production v${version}`, { timeout: 1_000 });
    await expect(row).not.toContainText(`production v${replaced}`, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await page.goto("/models/churn-classifier?team=churn");
  await expect(page.getByRole("list", { name: "Aliases" }).getByRole("listitem").filter({ hasText: "@production" })).toContainText(`version ${version}`);
}

test("an ML engineer asks for production with the evidence; a team lead rejects it", async ({ page, browser }) => {
  await signIn(page, "mle@example.com");
  const id = await requestProduction(page, 4, 2, "v4 beats v3 on auc and ran a week in staging.");

  // The request page: pending, the note, v4's metrics beside v3's, and what two replicas cost against one.
  await expect(card(page, "Request")).toContainText("pending");
  await expect(card(page, "Note from the requester")).toContainText("v4 beats v3 on auc");
  const metrics = page.getByRole("table", { name: "Metrics: candidate vs. production" });
  await expect(metrics.getByRole("columnheader", { name: "Candidate v4" })).toBeVisible();
  await expect(metrics.getByRole("columnheader", { name: "Production v3" })).toBeVisible();
  await expect(metrics.getByRole("row", { name: /^auc / })).toContainText(/\((better|worse)\)/);
  const cost = card(page, "Cost");
  await expect(cost).toContainText("Priced as cpu.small at $0.10/h per replica");
  await expect(cost).toContainText("+$73.00 a month");
  await expect(page.getByRole("link", { name: "current production deployment" })).toHaveAttribute("href", /^\/deployments\/[0-9a-f-]{36}$/);
  // Nobody decides their own request: the requester can only withdraw it.
  await expect(page.getByRole("button", { name: "Approve and deploy" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Withdraw request" })).toBeVisible();
  await page.goto("/approvals");
  await expect(page.getByRole("table", { name: "Approval requests" }).getByRole("row").filter({ has: page.locator(`a[href="/approvals/${id}"]`) })).toContainText("yours — a lead decides");

  // The team lead finds it in the inbox and rejects it with a reason.
  const lead = await signedIn(browser, "lead@example.com");
  await lead.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Approvals" }).click();
  const row = lead.getByRole("table", { name: "Approval requests" }).getByRole("row").filter({ has: lead.locator(`a[href="/approvals/${id}"]`) });
  await expect(row).toContainText("Your decision");
  await row.getByRole("link", { name: "churn-classifier v4" }).click();
  // The navigation shows what waits for this lead.
  await expect(lead.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Approvals/ })).toContainText(/\d+/);
  // The decision comes after the evidence, and a rejection needs a reason.
  const evidence = await lead.getByRole("heading", { name: "Candidate vs. production" }).boundingBox();
  const decisionBox = await card(lead, "Decision").boundingBox();
  expect(decisionBox!.y).toBeGreaterThan(evidence!.y);
  await lead.getByRole("button", { name: "Reject", exact: true }).click();
  await expect(card(lead, "Decision").getByRole("alert")).toHaveText("Give the reason for rejecting: the requester reads it, and it stays in the audit trail.");
  await lead.getByLabel("Comment").fill("Not yet: keep v3 until the quarterly review.");
  await lead.getByRole("button", { name: "Reject", exact: true }).click();
  await lead.getByRole("alertdialog", { name: "Confirm rejection" }).getByRole("button", { name: "Yes, reject" }).click();
  await expect(card(lead, "Decision")).toContainText("Not yet: keep v3 until the quarterly review.");
  await expect(card(lead, "Request")).toContainText("rejected");

  // The requester sees the decision; production is untouched.
  await page.goto(`/approvals/${id}`);
  await expect(card(page, "Decision")).toContainText("lead@example.com");
  await expect(page.getByRole("button", { name: "Withdraw request" })).toHaveCount(0);
  await page.goto("/models");
  await expect(page.getByRole("table", { name: "Registered models" }).getByRole("row", { name: /churn-classifier/ })).toContainText("production v3");
  await lead.context().close();
});

test("a team lead approves: the new version serves in production and @production moves to it", async ({ page, browser }) => {
  test.setTimeout(180_000);
  await signIn(page, "mle@example.com");
  const lead = await signedIn(browser, "lead@example.com");

  const id = await requestProduction(page, 1, 1, "Rolling back to the baseline for an A/B check.");
  await expect(page.getByRole("table", { name: "Metrics: candidate vs. production" }).getByRole("columnheader", { name: "Candidate v1" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Approve and deploy" })).toHaveCount(0);
  await approveFromInbox(lead, id, 1, "Approved for the A/B check.");
  const v1Deployment = lead.url();
  await expectProductionOn(lead, 1, 3);
  await page.goto(`/approvals/${id}`);
  await expect(card(page, "Request")).toContainText("approved");

  // Roll production back to v3 from v1's deployment page (no new approval: v3 was approved when it went out).
  await lead.goto(v1Deployment);
  lead.once("dialog", (d) => void d.accept());
  await lead.getByRole("button", { name: "Roll back to v3" }).click();
  await expect(lead.getByRole("heading", { name: "churn-classifier v3 · production" })).toBeVisible({ timeout: 45_000 });
  await expect(lead.getByText("1 of 1 serving")).toBeVisible({ timeout: 45_000 });
  await expect(lead.getByRole("list", { name: "Deployment events" })).toContainText("rolled back from deployment");
  await expectProductionOn(lead, 3, 1);
  await lead.context().close();
});

test("a data scientist cannot ask for production, and a requester cannot approve their own request", async ({ page, browser, baseURL }) => {
  await signIn(page, "ds@example.com");
  await page.goto(versionPage(4));
  await expect(page.getByRole("button", { name: "Deploy to staging" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Request production deploy" })).toHaveCount(0);

  // A team lead may approve production deploys — but not one they asked for themselves.
  const lead = await signedIn(browser, "lead@example.com");
  const id = await requestProduction(lead, 4, 1, "");
  await expect(lead.getByRole("button", { name: "Approve and deploy" })).toHaveCount(0);
  const approve = { params: { path: { id } } };
  const own = await api(lead.request, baseURL).POST("/api/v1/approvals/{id}/approve", { ...approve, body: { comment: "self-approved" } });
  expect(own.response.status).toBe(403);
  expect(own.error?.error?.message).toContain("you cannot approve it");
  const byDs = await api(page.request, baseURL).POST("/api/v1/approvals/{id}/approve", { ...approve, body: { comment: "not a lead" } });
  expect(byDs.response.status).toBe(403);
  expect(byDs.error?.error?.message).toContain("Only team leads");

  // The requester withdraws it; nothing was deployed.
  await lead.reload();
  await expect(card(lead, "Request")).toContainText("pending");
  lead.once("dialog", (d) => void d.accept());
  await lead.getByRole("button", { name: "Withdraw request" }).click();
  await expect(card(lead, "Request")).toContainText("cancelled");
  await lead.context().close();
});
