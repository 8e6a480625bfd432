import { expect, test } from "@playwright/test";
import type { APIRequestContext } from "@playwright/test";
import { signIn, signInRequest } from "../helpers";

// The runs table of an experiment with nested runs (tag mlflow.parentRunId, as MLflow's nested runs and a
// sweep's trials carry): children folded under their parent, the name column pinned, metric columns at one
// precision, and a new column placed beside its kind.

const M = "/api/2.0/mlflow";

async function tokenFor(request: APIRequestContext, baseURL: string, email: string, team: string): Promise<string> {
  await signInRequest(request, email);
  const res = await request.post("/api/v1/tokens", { data: { name: `e2e-runs-table-${Date.now()}`, team, expires_in_days: 1 }, headers: { origin: baseURL } });
  expect(res.status()).toBe(201);
  return (await res.json()).token as string;
}

const PARAMS = Array.from({ length: 14 }, (_, i) => `hyperparameter_number_${String(i).padStart(2, "0")}`);

test("child runs fold under their parent; the name stays pinned; metric decimals are uniform", async ({ page, playwright, baseURL }) => {
  const session = await playwright.request.newContext({ baseURL });
  const token = await tokenFor(session, baseURL!, "ds@example.com", "churn");
  const mlflow = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
  const name = `e2e-runs-table-${Date.now()}`;
  const created = await mlflow.post(`${M}/experiments/create`, { data: { name } });
  expect(created.status(), await created.text()).toBe(200);
  const experimentId = (await created.json()).experiment_id as string;

  const t0 = Date.now() - 60_000;
  async function logRun(runName: string, start: number, score: number, parentId?: string): Promise<string> {
    const res = await mlflow.post(`${M}/runs/create`, {
      data: { experiment_id: experimentId, run_name: runName, start_time: start, tags: parentId ? [{ key: "mlflow.parentRunId", value: parentId }] : [] },
    });
    expect(res.status(), await res.text()).toBe(200);
    const runId = (await res.json()).run.info.run_id as string;
    const batch = await mlflow.post(`${M}/runs/log-batch`, {
      data: {
        run_id: runId,
        metrics: [{ key: "score", value: score, timestamp: start, step: 0 }, { key: "loss", value: 1 - score, timestamp: start, step: 0 }],
        params: PARAMS.map((key, i) => ({ key, value: `value-${i}-${runName}` })),
      },
    });
    expect(batch.status(), await batch.text()).toBe(200);
    return runId;
  }
  const parentId = await logRun("tuning-parent", t0, 0.9);
  await logRun("trial-a", t0 + 1_000, 0.5, parentId);
  await logRun("trial-b", t0 + 2_000, 0.123456, parentId);
  await logRun("trial-c", t0 + 3_000, 0.25, parentId);
  await logRun("solo-run", t0 + 4_000, 0.75);

  await signIn(page, "ds@example.com");
  // Wide on purpose: the score metric and every param, so the table scrolls sideways.
  await page.goto(`/experiments/${experimentId}?cols=${["metrics.score", ...PARAMS.map((p) => `params.${p}`)].join(",")}`);
  const table = page.getByRole("table", { name: "Runs" });
  await expect(page.getByTestId("runs-count")).toContainText("of 5 runs");

  // Collapsed at first: the parent says how many children it has, and they are not listed.
  const toggle = table.getByRole("button", { name: "Child runs of tuning-parent (3)" });
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(table.getByRole("link", { name: "solo-run" })).toBeVisible();
  await expect(table.getByRole("link", { name: /^trial-/ })).toHaveCount(0);

  // Expanded: the children sit right below their parent.
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  await expect(table.getByRole("link", { name: /^trial-/ })).toHaveCount(3);
  const names = await table.locator("tbody tr[data-index] td:nth-child(2) a").allInnerTexts();
  const at = names.indexOf("tuning-parent");
  expect(new Set(names.slice(at + 1, at + 4))).toEqual(new Set(["trial-a", "trial-b", "trial-c"]));
  await expect(table.locator("tbody tr[data-depth='1']")).toHaveCount(3);

  // A metric column shows one precision down the column, chosen from its values, with the full value on hover.
  const headers = await table.getByRole("columnheader").allInnerTexts();
  const scoreIndex = headers.findIndex((t) => t.trim().startsWith("score"));
  expect(scoreIndex).toBeGreaterThan(0);
  const scores = (await table.locator("tbody tr[data-index]").evaluateAll((rows, i) => rows.map((r) => r.children[i]?.textContent?.trim() ?? ""), scoreIndex));
  expect(scores).toHaveLength(5);
  const decimals = new Set(scores.map((s) => s.split(".")[1]?.length ?? 0));
  expect([...decimals]).toEqual([4]);
  expect(scores).toContain("0.1235");
  await expect(table.getByRole("cell", { name: "0.1235" })).toHaveAttribute("title", "0.123456");

  // The keyboard folds them away again.
  await toggle.focus();
  await page.keyboard.press("Enter");
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(table.getByRole("link", { name: /^trial-/ })).toHaveCount(0);

  // Scrolled sideways, the run name stays where it was.
  const scroller = page.getByTestId("runs-scroll");
  const link = table.getByRole("link", { name: "solo-run" });
  const before = (await link.boundingBox())!;
  const scrolled = await scroller.evaluate((el) => { el.scrollLeft = el.scrollWidth; return el.scrollLeft; });
  expect(scrolled).toBeGreaterThan(100);
  await expect(table.getByRole("columnheader", { name: /hyperparameter_number_13/ })).toBeInViewport();
  await expect(link).toBeInViewport();
  expect(Math.abs((await link.boundingBox())!.x - before.x)).toBeLessThan(2);

  // A metric added from the column chooser lands with the metrics, before the params.
  await page.getByText(/^Columns \(/).click();
  await page.getByRole("group", { name: "Choose columns" }).getByLabel("loss", { exact: true }).check();
  await expect(page).toHaveURL(/cols=metrics\.score(,|%2C)metrics\.loss(,|%2C)params\./);
  await page.getByText(/^Columns \(/).click();
  const after = await table.getByRole("columnheader").allInnerTexts();
  expect(after.findIndex((t) => t.trim().startsWith("loss"))).toBe(scoreIndex + 1);

  for (const c of [session, mlflow]) await c.dispose();
});
