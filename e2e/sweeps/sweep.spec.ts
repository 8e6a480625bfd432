import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

// A random sweep of the churn example launched from the experiment page: its trials run as jobs (child runs of the
// sweep's run), the page follows them, and the best trial is registered in one click.
test("launch a sweep from the UI, watch its trials, register the best trial", async ({ page }) => {
  test.setTimeout(240_000);
  await signIn(page, "ds@example.com");
  await page.goto("/experiments");
  await page.getByRole("link", { name: "churn-baseline" }).click();
  await page.getByRole("link", { name: "New sweep" }).click();
  await expect(page.getByRole("heading", { name: "New sweep" })).toBeVisible();

  // The churn example's space is prefilled; Bayesian is offered, or says what it needs.
  await expect(page.getByLabel("Code")).toHaveValue("examples/churn");
  await expect(page.getByRole("group", { name: "Param 1" }).getByLabel("Param name")).toHaveValue("lr");
  await expect(page.getByLabel("Algorithm")).toHaveAccessibleDescription(/Optuna/);

  // A bad space is refused next to its field, and nothing starts.
  await page.getByRole("group", { name: "Param 1" }).getByLabel("Low").fill("0");
  await page.getByLabel("Sweep name").fill("e2e churn sweep");
  await page.getByLabel("Max trials").fill("3");
  await page.getByLabel("Parallel trials").fill("2");
  await page.getByRole("button", { name: "Start sweep" }).click();
  await expect(page.getByRole("group", { name: "Param 1" }).getByRole("alert")).toContainText("log_uniform needs low > 0");
  await page.getByRole("group", { name: "Param 1" }).getByLabel("Low").fill("0.005");
  await page.getByRole("button", { name: "Start sweep" }).click();

  await expect(page).toHaveURL(/\/sweeps\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { name: "e2e churn sweep" })).toBeVisible();
  const trials = page.getByRole("table", { name: "Trials" });
  // The driver submits trials (two at a time) and the page follows them to the end.
  await expect(trials.locator("tbody tr")).toHaveCount(3, { timeout: 120_000 });
  await expect(page.getByText("finished", { exact: true })).toBeVisible({ timeout: 180_000 });
  await expect(trials.locator("tbody tr", { hasText: "succeeded" })).toHaveCount(3);
  await expect(trials.getByRole("row", { name: /\(best\)$/ })).toHaveCount(1);
  await expect(page.getByTestId("best-trial")).toContainText(/val_auc = 0\.\d+/);
  // The progress chart: the best val_auc so far after each trial.
  await expect(page.getByTestId("sweep-progress")).toContainText("Best after 3 trials");
  const parentRun = (await page.getByRole("link", { name: "parent run" }).getAttribute("href"))!.split("/").pop()!;

  // Register best: one click makes a model version from the best trial's run.
  const name = `e2e-sweep-best-${Date.now()}`;
  const register = page.getByRole("form", { name: "Register the best trial" });
  await register.getByLabel("Model name").fill(name);
  await register.getByRole("button", { name: "Register best" }).click();
  await expect(register.getByRole("status")).toContainText(`Registered as ${name} version 1`);
  await page.getByRole("link", { name: `${name} version 1` }).click();
  await expect(page).toHaveURL(new RegExp(`/models/${name}/versions/1$`));

  // The experiment lists the sweep.
  await page.goBack();
  await page.getByRole("link", { name: /^Experiment \d+$/ }).click();
  await expect(page.getByRole("region", { name: "Sweeps" })).toContainText("e2e churn sweep");

  // Parallel coordinates of the trials (the sweep run's children): their params → val_auc.
  const filter = `tags.\`mlflow.parentRunId\` = '${parentRun}'`;
  await page.goto(`${new URL(page.url()).pathname}?filter=${encodeURIComponent(filter)}&charts=1&obj=val_auc&pc=lr`);
  await expect(page.getByTestId("charts-scope")).toContainText("Charting 3 runs that match the filter");
  const parallel = page.getByRole("region", { name: "Parallel coordinates" });
  await expect(parallel.getByTestId("parallel-canvas")).toHaveAttribute("data-runs", "3");
  await expect(parallel.getByRole("list", { name: "Param axes" })).toContainText("lr");
});
