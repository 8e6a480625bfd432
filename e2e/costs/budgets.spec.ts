import { expect, test } from "@playwright/test";
import type { Browser, Page } from "@playwright/test";
import { signIn } from "../helpers";

// The demo's vision team sits at about $1,700 of its $2,000 budget (85 %): past the default warning line (80 %).
// The second test moves vision's approval line just below that spend, with a data scientist and a lead of its own
// (invited, so the demo users' teams stay as other specs expect), and puts the default steps back at the end.
test.describe.configure({ mode: "serial" });

const VISION_QUOTA = { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, max_replicas: 20, storage_gib: 500, monthly_budget_usd: 2000 };
const NEW_PASSWORD = "budget-e2e-password";

async function setVisionSteps(page: Page, origin: string, steps: { warn_pct: number | null; approval_pct: number | null; block_pct: number | null }): Promise<void> {
  const res = await page.request.put("/api/v1/teams/vision/quota", { data: { ...VISION_QUOTA, budget_thresholds: steps }, headers: { origin } });
  expect(res.status(), await res.text()).toBe(200);
}

/** Invites `email` to vision as `role` (admin's page) and accepts in a browser of its own; returns that page, signed in. */
async function invitedMember(admin: Page, browser: Browser, origin: string, email: string, role: "data_scientist" | "team_lead"): Promise<Page> {
  const res = await admin.request.post("/api/v1/teams/vision/members", { data: { email, role }, headers: { origin } });
  expect(res.status(), await res.text()).toBe(202);
  const { invite_url } = (await res.json()) as { invite_url: string };
  const page = await (await browser.newContext()).newPage();
  await page.goto(new URL(invite_url).pathname);
  await page.getByLabel("Your name").fill(role === "team_lead" ? "Vic Lead" : "Val Scientist");
  await page.getByLabel("Password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Repeat password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set password and join" }).click();
  await expect(page.getByRole("status")).toContainText("Invitation accepted");
  await signIn(page, email, NEW_PASSWORD);
  return page;
}

test("the vision team's budget warning shows on the launch form and the Costs page, with its month-end forecast", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/jobs/new");
  const banner = page.getByRole("status", { name: "vision budget" });
  await expect(banner).toContainText("Budget warning — team vision");
  await expect(banner).toContainText("past its warning line of $1,600.00 (80 % of the $2,000.00 monthly budget)");
  await expect(banner).not.toContainText("You cannot start");

  await page.goto("/costs?team=vision");
  await expect(page.getByRole("status", { name: "vision budget" })).toContainText("Budget warning — team vision");
  await expect(page.getByRole("meter", { name: "vision budget" })).toHaveAttribute("aria-valuetext", /^\$1,[67]\d\d\.\d\d of \$2,000\.00 this month \(8\d %\)$/);
  await expect(page.getByLabel("vision month-end forecast")).toHaveText(/^\$[\d,]+\.\d\d$/);
  await expect(page.getByText("The month-end forecast is what was spent so far plus the hours left")).toBeVisible();
});

test("past the approval line a data scientist is told before filling in the launch form and refused; a lead's extension on the Costs page lets them launch", async ({ page, browser, baseURL }) => {
  test.setTimeout(180_000);
  const origin = baseURL!;
  const stamp = Date.now().toString(36);
  await signIn(page, "admin@example.com");
  const ds = await invitedMember(page, browser, origin, `budget-ds-${stamp}@example.com`, "data_scientist");
  const leadEmail = `budget-lead-${stamp}@example.com`;
  const lead = await invitedMember(page, browser, origin, leadEmail, "team_lead");
  // An approval line just under vision's spend (this month's extensions from earlier runs raise it, so count them).
  const before = ((await (await page.request.get("/api/v1/teams/vision")).json()) as { budget: { spent_this_month_usd: number; extensions_usd: number } }).budget;
  const pct = Math.floor(((before.spent_this_month_usd - before.extensions_usd) / VISION_QUOTA.monthly_budget_usd) * 100) - 2;
  expect(pct, "vision has room under its spend for an approval line").toBeGreaterThan(1);
  await setVisionSteps(page, origin, { warn_pct: 1, approval_pct: pct, block_pct: 150 });
  const at = ((await (await page.request.get("/api/v1/teams/vision")).json()) as { budget: { step: string; lines: { approval_usd: number } } }).budget;
  expect(at.step).toBe("approval");
  const line = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(at.lines.approval_usd);
  try {
    // Before the form is filled in: the refusal, in the API error's words, naming who can approve.
    await ds.goto("/jobs/new");
    const refusal = ds.getByRole("alert", { name: "vision budget" });
    await expect(refusal).toContainText("You cannot start new training jobs in team vision now.");
    await expect(refusal).toContainText(`past its approval line of ${line}`);
    await expect(refusal).toContainText(leadEmail);

    // The API says the same: 403 budget_exceeded.
    const experiments = (await (await ds.request.get("/api/v1/experiments?team=vision")).json()) as { experiments: { experiment_id: string }[] };
    const experimentId = experiments.experiments[0]!.experiment_id;
    const train = () => ds.request.post(`/api/v1/experiments/${experimentId}/train`, { data: { command: ["python3", "-c", "print(1)"], instance_type: "cpu.small", max_runtime_seconds: 60 }, headers: { origin } });
    const refused = await train();
    expect(refused.status()).toBe(403);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("budget_exceeded");
    expect(error.message).toContain(leadEmail);

    // The lead grants an extension on the Costs page.
    await lead.goto("/costs?team=vision");
    await expect(lead.getByRole("status", { name: "vision budget" })).toContainText("As a team lead you may start new work");
    const form = lead.getByRole("form", { name: "Grant vision a budget extension" });
    await form.getByLabel("Amount (USD)").fill("300");
    await form.getByLabel("Reason").fill("Defect model retraining before the release");
    await form.getByRole("button", { name: "Grant extension" }).click();
    await expect(form.getByRole("status")).toContainText("Extension of $300 granted for vision this month.");
    await expect(lead.getByRole("list", { name: "vision budget extensions" })).toContainText(`+$300.00 by ${leadEmail}`);
    await expect(lead.getByRole("list", { name: "vision budget extensions" })).toContainText("Defect model retraining before the release");

    // The data scientist's form now only warns, and the launch goes ahead with a note.
    await ds.goto("/jobs/new");
    await expect(ds.getByRole("alert", { name: "vision budget" })).toHaveCount(0);
    await expect(ds.getByRole("status", { name: "vision budget" })).toContainText("Budget warning — team vision");
    const accepted = await train();
    expect(accepted.status(), await accepted.text()).toBe(202);
    expect(((await accepted.json()) as { budget: { step: string } }).budget.step).toBe("warn");
  } finally {
    await setVisionSteps(page, origin, { warn_pct: 80, approval_pct: 100, block_pct: 120 });
  }
});
