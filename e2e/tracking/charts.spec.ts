import { expect, test } from "@playwright/test";
import { createMlflowExperiment, signIn, tokenContext } from "../helpers";

// The experiment's chart panel over every run of the filter: lines for every run, parallel coordinates of
// params → objective, a scatter, and parameter importance (scikit-learn in CAIRN_OPTUNA_PYTHON, or a note that
// says what it needs). The panel's choices live in the URL, so a reload reopens the same charts.

const M = "/api/2.0/mlflow";

test("the chart panel draws every run, opens parallel coordinates and explains importance", async ({ page, playwright, baseURL }) => {
  const mlflow = await tokenContext(playwright, baseURL!, "ds@example.com", "churn");
  const experimentId = await createMlflowExperiment(mlflow, "e2e-charts");

  const t0 = Date.now() - 600_000;
  for (let i = 0; i < 12; i++) {
    const run = await mlflow.post(`${M}/runs/create`, { data: { experiment_id: experimentId, run_name: `trial-${i}`, start_time: t0 + i * 1000 } });
    expect(run.status(), await run.text()).toBe(200);
    const runId = (await run.json()).run.info.run_id as string;
    const lr = 0.01 * (i + 1);
    const batch = await mlflow.post(`${M}/runs/log-batch`, {
      data: {
        run_id: runId,
        params: [{ key: "lr", value: String(lr) }, { key: "depth", value: String(3 + (i % 4)) }, { key: "optimizer", value: i % 2 ? "adam" : "sgd" }],
        metrics: [
          ...Array.from({ length: 30 }, (_, step) => ({ key: "loss", value: 1 / (1 + step * lr * 10), timestamp: t0 + step, step })),
          { key: "val_auc", value: 0.6 + lr * 2, timestamp: t0, step: 0 },
        ],
      },
    });
    expect(batch.status(), await batch.text()).toBe(200);
  }

  await signIn(page, "ds@example.com");
  await page.goto(`/experiments/${experimentId}`);
  await expect(page.getByTestId("runs-count")).toContainText("of 12 runs");
  await page.getByRole("checkbox", { name: "Select trial-3" }).check();

  const toggle = page.getByRole("button", { name: "Charts", exact: true });
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  await expect(page).toHaveURL(/charts=1/);
  const charts = page.getByTestId("experiment-charts");
  await expect(charts.getByTestId("charts-scope")).toContainText("Charting 12 runs");
  await expect(charts.getByTestId("charts-scope")).toContainText("1 selected in the table");

  // Lines: every run's loss curve on the canvas.
  await charts.getByLabel("Metric to chart over steps").selectOption("loss");
  await expect(charts.getByTestId("lines-canvas")).toHaveAttribute("data-runs", "12");
  await expect(charts.getByText("12 runs, at most")).toBeVisible();

  // Parallel coordinates: the param axes and the objective.
  await charts.getByLabel("Objective metric").selectOption("val_auc");
  const parallel = charts.getByRole("region", { name: "Parallel coordinates" });
  await expect(parallel.getByTestId("parallel-canvas")).toHaveAttribute("data-runs", "12");
  await expect(parallel.getByRole("list", { name: "Param axes" })).toContainText("lr");
  // Hovering a line names its run.
  const box = (await parallel.getByTestId("parallel-canvas").boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.move(box.x + box.width / 2 + 1, box.y + box.height / 2);

  // Importance: ranked params, or a note that says what the server needs.
  const importance = charts.getByRole("region", { name: /Parameter importance for val_auc/ });
  await expect(importance.getByRole("list", { name: "Importance of each param for val_auc" }).or(importance.getByTestId("importance-unavailable"))).toBeVisible({ timeout: 30_000 });
  if (await importance.getByTestId("importance-unavailable").isVisible()) {
    await expect(importance.getByTestId("importance-unavailable")).toContainText("scikit-learn");
  } else {
    await expect(importance.getByRole("listitem").first()).toContainText("lr");
  }

  // A link reopens the same charts.
  await expect(page).toHaveURL(/obj=val_auc/);
  await page.reload();
  await expect(page.getByTestId("experiment-charts")).toBeVisible();
  await expect(page.getByLabel("Objective metric")).toHaveValue("val_auc");
  await expect(page.getByLabel("Metric to chart over steps")).toHaveValue("loss");

  // The filter narrows the charts as it narrows the table.
  await page.goto(`/experiments/${experimentId}?filter=${encodeURIComponent("params.optimizer = 'adam'")}&charts=1&cm=loss&obj=val_auc`);
  await expect(page.getByTestId("charts-scope")).toContainText("Charting 6 runs that match the filter");
  await expect(page.getByTestId("lines-canvas")).toHaveAttribute("data-runs", "6");
});
