import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

// A team lead creates a job_failures rule on the Alerts page (threshold 1, notifying a webhook), a job of the team
// fails, the rule fires — on the page and at the webhook, which a local receiver here gets — and the lead
// acknowledges it. The evaluator runs every 2 s in the e2e server (CAIRN_ALERT_INTERVAL_MS, playwright.config.ts).
test("a job_failures rule fires when a job fails, its webhook is called, and the lead acknowledges it", async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  const received: { text: string; state: string; rule: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      received.push(JSON.parse(body) as { text: string; state: string; rule: string });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slack`;
  const name = `E2eJobsFailing${Date.now().toString(36)}`;
  try {
    await signIn(page, "lead@example.com");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click();
    await expect(page).toHaveURL(/\/alerts\?team=churn/);

    const form = page.getByRole("form", { name: "New alert rule" });
    await form.getByLabel("Name").fill(name);
    await form.getByLabel("Watches").selectOption("job_failures");
    await form.getByLabel("Threshold").fill("1");
    await form.getByLabel("Window (minutes)").fill("5");
    await form.getByLabel("For (seconds)").fill("0");
    await form.getByLabel("Webhook URLs").fill(hook);
    await form.getByRole("button", { name: "Create rule" }).click();
    const rules = page.getByRole("table", { name: "Alert rules" });
    const row = rules.getByRole("row").filter({ hasText: name });
    await expect(row).toBeVisible();
    await expect(row).toContainText("failed jobs of the team in the window");
    await expect(row).toContainText("127.0.0.1");

    // Bad input: a field error, nothing stored.
    await form.getByLabel("Name").fill("has spaces");
    await form.getByLabel("Threshold").fill("1");
    await form.getByRole("button", { name: "Create rule" }).click();
    await expect(form.getByText(/name is letters, digits and _/)).toBeVisible();

    // A job of the team fails.
    const headers = { origin: baseURL! };
    const exp = await page.request.post("/api/v1/experiments", { data: { name: `alerts-${Date.now()}`, team: "churn" }, headers });
    expect(exp.status()).toBe(201);
    const { experiment_id } = (await exp.json()) as { experiment_id: string };
    const train = await page.request.post(`/api/v1/experiments/${experiment_id}/train`, {
      data: { command: ["node", "-e", "process.exit(3)"], instance_type: "cpu.small", max_runtime_seconds: 60, name: "alerts e2e" }, headers,
    });
    expect(train.status()).toBe(202);

    // The page refreshes itself: the rule fires.
    const active = page.getByRole("table", { name: "Active alerts" });
    const alert = active.getByRole("row").filter({ hasText: name });
    await expect(alert).toContainText("firing", { timeout: 60_000 });
    await expect(row).toContainText("firing");
    await expect.poll(() => received.filter((r) => r.rule === name).map((r) => r.state), { timeout: 30_000 }).toContain("firing");
    expect(received.find((r) => r.rule === name)!.text).toMatch(new RegExp(`^\\[FIRING\\] ${name} \\(team churn\\)`));

    await alert.getByRole("button", { name: `Acknowledge ${name}` }).click();
    await expect(alert).toContainText("by lead@example.com");
    await expect(alert.getByRole("button", { name: `Acknowledge ${name}` })).toHaveCount(0);
    await expect(page.getByRole("table", { name: "Alert history" }).getByRole("row").filter({ hasText: name }).first()).toContainText("firing");

    // The REST API answers the same.
    const listed = (await (await page.request.get("/api/v1/alerts?team=churn&state=firing")).json()) as { alerts: { rule_name: string; acknowledged_by: string | null }[] };
    expect(listed.alerts.find((a) => a.rule_name === name)).toMatchObject({ acknowledged_by: "lead@example.com" });
  } finally {
    await new Promise((r) => receiver.close(r));
  }
});
