import { expect, test } from "@playwright/test";
import { createMlflowExperiment, signIn, tokenContext } from "../helpers";

// Brushing the experiment's charts narrows the runs table: a range dragged on a parallel-coordinates axis, then
// values typed in the keyboard form (a category and a numeric param range), become search conditions the server
// applies; the brush is kept in the link (a reload keeps it) and clearing it restores the table.

const M = "/api/2.0/mlflow";
// parallel-coordinates.tsx lays its axes out inside these margins (M), on a 320px-high canvas.
const PC = { top: 34, right: 60, bottom: 16, height: 320 };

test("brushing the charts narrows the runs table, survives a reload and clears", async ({ page, playwright, baseURL }) => {
  const mlflow = await tokenContext(playwright, baseURL!, "ds@example.com", "churn");
  const experimentId = await createMlflowExperiment(mlflow, "e2e-brush");

  // trial-i: lr = 0.01·(i+1) (0.01 … 0.12), val_auc = 0.6 + 2·lr (0.62 … 0.84), optimizer sgd (even i) or adam (odd i).
  const t0 = Date.now() - 600_000;
  for (let i = 0; i < 12; i++) {
    const run = await mlflow.post(`${M}/runs/create`, { data: { experiment_id: experimentId, run_name: `trial-${i}`, start_time: t0 + i * 1000 } });
    expect(run.status(), await run.text()).toBe(200);
    const runId = (await run.json()).run.info.run_id as string;
    const lr = 0.01 * (i + 1);
    const batch = await mlflow.post(`${M}/runs/log-batch`, {
      data: {
        run_id: runId,
        params: [{ key: "lr", value: String(lr) }, { key: "optimizer", value: i % 2 ? "adam" : "sgd" }],
        metrics: [{ key: "val_auc", value: 0.6 + lr * 2, timestamp: t0, step: 0 }, { key: "loss", value: 1 - lr, timestamp: t0, step: 0 }],
      },
    });
    expect(batch.status(), await batch.text()).toBe(200);
  }

  await signIn(page, "ds@example.com");
  await page.goto(`/experiments/${experimentId}?charts=1&cm=loss&obj=val_auc&pc=lr,optimizer&sx=params.lr&sy=metrics.val_auc`);
  const count = page.getByTestId("runs-count");
  await expect(count).toContainText("of 12 runs");
  const charts = page.getByTestId("experiment-charts");
  const parallel = charts.getByRole("region", { name: "Parallel coordinates" });
  const canvas = parallel.getByTestId("parallel-canvas");
  await expect(canvas).toHaveAttribute("data-runs", "12");
  await expect(page.getByTestId("brush-chip")).toHaveCount(0);

  // Drag down the objective axis (the last, at the right margin) from its top to its middle: val_auc ≥ 0.73,
  // which holds for trial-6 … trial-11 (0.74 … 0.84) and not trial-5 (0.72).
  // The panel sits below the fold: mouse events go only where the viewport shows.
  await canvas.scrollIntoViewIfNeeded();
  const box = (await canvas.boundingBox())!;
  const axisX = box.x + box.width - PC.right;
  const yAt = (unit: number) => box.y + PC.top + (1 - unit) * (PC.height - PC.top - PC.bottom);
  // Starting just above the axis's top takes its top value (0.84) in.
  await page.mouse.move(axisX, yAt(1) - 3);
  await page.mouse.down();
  await page.mouse.move(axisX, yAt(0.75), { steps: 4 });
  await page.mouse.move(axisX, yAt(0.5), { steps: 4 });
  await page.mouse.up();

  const chip = page.getByTestId("brush-chip");
  await expect(chip).toContainText("6 runs selected by the chart");
  await expect(count).toContainText("of 6 runs");
  await expect(page).toHaveURL(/brush=metrics\.val_auc\+%3E%3D\+0\.7/);
  await expect(page.getByRole("checkbox", { name: "Select trial-6" })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: "Select trial-5" })).toHaveCount(0);
  // The other panels grey out the runs outside the brush.
  await expect(canvas).toHaveAttribute("data-brushed", "6");
  await expect(charts.getByTestId("scatter-canvas")).toHaveAttribute("data-brushed", "6");
  await expect(charts.getByTestId("charts-scope")).toContainText("6 inside the brushes");
  await expect(charts.getByRole("list", { name: "Chart brushes" })).toContainText("metrics.val_auc");

  // A reload keeps the brush: the link holds it.
  await page.reload();
  await expect(page.getByTestId("brush-chip")).toContainText("6 runs selected by the chart");
  await expect(page.getByTestId("runs-count")).toContainText("of 6 runs");
  await expect(page.getByTestId("experiment-charts").getByRole("list", { name: "Chart brushes" })).toContainText("metrics.val_auc");

  // The keyboard way: tick a category, then type a numeric param range (params are text; the range compares numbers).
  const form = page.getByRole("form", { name: "Brush by value" });
  await form.getByLabel("Key to brush").selectOption("params.optimizer");
  await form.getByRole("checkbox", { name: "adam" }).check();
  await form.getByRole("button", { name: "Brush", exact: true }).click();
  // adam among trial-6 … trial-11: trial-7, trial-9, trial-11.
  await expect(page.getByTestId("brush-chip")).toContainText("3 runs selected by the chart");
  await expect(page.getByTestId("runs-count")).toContainText("of 3 runs");

  await form.getByLabel("Key to brush").selectOption("params.lr");
  await form.getByLabel("params.lr from").fill("0.1");
  await form.getByLabel("params.lr from").press("Enter");
  // lr ≥ 0.1 leaves trial-9 (0.1) and trial-11 (0.12).
  await expect(page.getByTestId("brush-chip")).toContainText("2 runs selected by the chart");
  await expect(page.getByTestId("runs-count")).toContainText("of 2 runs");
  await expect(page.getByRole("checkbox", { name: "Select trial-9" })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: "Select trial-11" })).toBeVisible();
  await expect(page).toHaveURL(/params\.lr\+%3E%3D\+0\.1/);

  // Clearing restores the table and drops the brush from the link.
  await page.getByRole("button", { name: "Clear the chart selection" }).click();
  await expect(page.getByTestId("runs-count")).toContainText("of 12 runs");
  await expect(page.getByTestId("brush-chip")).toHaveCount(0);
  await expect(page).not.toHaveURL(/brush=/);
  await expect(page.getByTestId("experiment-charts").getByTestId("parallel-canvas")).not.toHaveAttribute("data-brushed", /\d/);
  await page.reload();
  await expect(page.getByTestId("runs-count")).toContainText("of 12 runs");
});
