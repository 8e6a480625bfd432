import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { api, signIn } from "../helpers";

const MODEL = "churn-classifier";
const STABLE = `/serve/churn/${MODEL}/staging`;

/** Deploys a version of the demo classifier to staging (one replica) and waits on its page until it serves. */
async function deployStaging(page: Page, version: number): Promise<string> {
  const { data, response } = await api(page).POST("/api/v1/models/{name}/deploy", { params: { path: { name: MODEL } }, body: { version, environment: "staging", replicas: 1, auto_scale: false } });
  expect(response.status).toBe(201);
  const id = (data as { deployment_id: string }).deployment_id;
  await page.goto(`/deployments/${id}`);
  await expect(page.getByText("1 of 1 serving")).toBeVisible({ timeout: 30_000 });
  return id;
}

/** The cell of the "Variant figures" table for one figure and variant. */
const figure = (page: Page, row: string, variant: "Baseline" | "Candidate") => {
  const table = page.getByRole("table", { name: "Variant figures" });
  return table.getByRole("row").filter({ has: page.getByRole("rowheader", { name: row, exact: true }) }).getByRole("cell").nth(variant === "Baseline" ? 0 : 1);
};

test("split staging traffic 90/10, watch both variants, feed labels back, promote the candidate", async ({ page, baseURL }) => {
  test.setTimeout(180_000);
  await signIn(page, "ds@example.com");
  const baseline = await deployStaging(page, 1);
  // A token of the team for the gateway, and the model's input (read before the split, so the split's figures count only the traffic below).
  const minted = await page.request.post("/api/v1/tokens", { data: { name: `e2e-split-${Date.now()}`, team: "churn", expires_in_days: 1 }, headers: { origin: baseURL! } });
  expect(minted.status()).toBe(201);
  const token = ((await minted.json()) as { token: string }).token;
  const headers = { authorization: `Bearer ${token}` };
  const meta = await page.request.get(`${STABLE}/v2/models/${MODEL}`, { headers });
  expect(meta.headers()["x-cairn-deployment"]).toBe(baseline);
  const input = ((await meta.json()) as { inputs: { name: string; shape: number[] }[] }).inputs[0]!;
  const width = input.shape[input.shape.length - 1]!;

  // Start the split from the deployment page: version 2 takes 10 %.
  const panel = page.getByRole("form", { name: "Start a traffic split" });
  await panel.getByLabel("Candidate version").selectOption("2");
  await panel.getByLabel("Candidate weight (%)").fill("10");
  await panel.getByLabel("Abort if error share exceeds baseline by (points)").fill("50");
  await expect(panel.getByText(/Sticky \(A\/B\)/)).toBeVisible();
  await panel.getByRole("button", { name: "Start split" }).click();
  await expect(page.getByRole("table", { name: "Variant figures" })).toBeVisible();
  await expect(page.getByText(/Active: version 2 \(candidate\) takes 10 %/)).toBeVisible();
  // The candidate comes up (the panel refreshes itself while the split is active).
  await expect(figure(page, "Deployment", "Candidate")).toHaveText("ready", { timeout: 30_000 });

  // Traffic through the model's stable staging address.
  const served: { requestId: string; variant: string; score: number }[] = [];
  for (let i = 0; i < 200; i++) {
    const row = Array.from({ length: width }, (_, k) => ((i * (k + 3)) % 17) / 4 - 2);
    const res = await page.request.post(`${STABLE}/v2/models/${MODEL}/infer`, { headers, data: { inputs: [{ name: input.name, shape: [1, width], datatype: "FP32", data: row }] } });
    expect(res.status()).toBe(200);
    const variant = res.headers()["x-cairn-variant"]!;
    expect(res.headers()["x-cairn-model-version"]).toBe(variant === "candidate" ? "2" : "1");
    const body = (await res.json()) as { outputs: { data: number[] }[] };
    served.push({ requestId: res.headers()["x-request-id"]!, variant, score: body.outputs[0]!.data[1]! });
  }
  const candidates = served.filter((s) => s.variant === "candidate").length;
  expect(candidates).toBeGreaterThan(2);
  expect(candidates).toBeLessThan(50);

  // Both variants' figures, side by side.
  await expect(figure(page, "Requests", "Baseline")).toHaveText(String(200 - candidates), { timeout: 15_000 });
  await expect(figure(page, "Requests", "Candidate")).toHaveText(String(candidates));
  await expect(figure(page, "Latency p50", "Candidate")).toHaveText(/ms$/);
  await expect(figure(page, "Error share (5xx)", "Baseline")).toHaveText("0.0 %");
  await expect(figure(page, "Accuracy", "Candidate")).toHaveText("—");

  // Feedback: true labels by request id. The candidate's predictions were right, the baseline's wrong.
  const label = (s: { variant: string; score: number }) => ((s.score >= 0.5) === (s.variant === "candidate") ? 1 : 0);
  const { response } = await api(page).POST("/api/v1/deployments/{id}/feedback", { params: { path: { id: baseline } }, body: { feedback: served.map((s) => ({ request_id: s.requestId, label: label(s) })) } });
  expect(response.status).toBe(200);
  await expect(figure(page, "Accuracy", "Candidate")).toHaveText("100.0 %", { timeout: 15_000 });
  await expect(figure(page, "Accuracy", "Baseline")).toHaveText("0.0 %");
  await expect(figure(page, "Labelled requests", "Baseline")).toHaveText(String(200 - candidates));

  // Promote: the candidate takes all of the traffic; the page moves to it and says so.
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Promote candidate" }).click();
  await expect(page).not.toHaveURL(new RegExp(`/deployments/${baseline}$`));
  await expect(page.getByRole("heading", { name: `${MODEL} v2 · staging` })).toBeVisible();
  await expect(page.getByRole("list", { name: "Deployment events" })).toContainText("split promoted by ds@example.com");
  await expect(page.getByRole("list", { name: "Split events" })).toContainText("promoted by ds@example.com");
  const candidate = page.url().split("/").pop()!;
  for (let i = 0; i < 5; i++) {
    const res = await page.request.post(`${STABLE}/v2/models/${MODEL}/infer`, { headers, data: { inputs: [{ name: input.name, shape: [1, width], datatype: "FP32", data: Array(width).fill(0) }] } });
    expect(res.headers()["x-cairn-model-version"]).toBe("2");
    expect(res.headers()["x-cairn-deployment"]).toBe(candidate);
  }
  await page.goto(`/deployments/${baseline}`);
  await expect(page.getByRole("list", { name: "Deployment events" })).toContainText("replaced by split candidate");

  // Leave staging as the demo had it.
  const stopped = await api(page).DELETE("/api/v1/deployments/{id}", { params: { path: { id: candidate } } });
  expect(stopped.response.status).toBe(204);
});
