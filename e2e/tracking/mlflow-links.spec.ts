import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { api, signIn } from "../helpers";

/** A seeded run of churn's and its experiment, read through the API as the signed-in page. */
async function seededRun(page: Page): Promise<{ experiment: string; run: string }> {
  const list = (await api(page).GET("/api/v1/experiments", { params: { query: { team: "churn" } } })).data as { experiments: { experiment_id: string; run_count: number }[] };
  const exp = list.experiments.find((e) => e.run_count > 0)!;
  const runs = (await api(page).GET("/api/v1/experiments/{id}/runs", { params: { path: { id: exp.experiment_id } } })).data as { runs: { run_id: string }[] };
  return { experiment: exp.experiment_id, run: runs.runs[0]!.run_id };
}

test("the links the mlflow client prints open the run, the experiment and the model version", async ({ page }) => {
  await signIn(page, "ds@example.com");
  const { experiment, run } = await seededRun(page);
  await page.goto(`/#/experiments/${experiment}/runs/${run}`);
  await expect(page).toHaveURL((url) => url.pathname === `/runs/${run}`);
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await page.goto(`/#/experiments/${experiment}`);
  await expect(page).toHaveURL((url) => url.pathname === `/experiments/${experiment}`);
  await page.goto("/#/models/churn-classifier/versions/3");
  await expect(page).toHaveURL((url) => url.pathname === "/models/churn-classifier/versions/3");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("churn-classifier");
});

test("signed out, an MLflow run link leads through sign-in to the run", async ({ page, browser, baseURL }) => {
  await signIn(page, "ds@example.com");
  const { experiment, run } = await seededRun(page);
  const fresh = await (await browser.newContext({ baseURL })).newPage();
  await fresh.goto(`/#/experiments/${experiment}/runs/${run}`);
  await expect(fresh).toHaveURL((url) => url.pathname === "/login" && url.searchParams.get("callbackUrl") === `/runs/${run}`);
  await fresh.getByLabel("Email").fill("ds@example.com");
  await fresh.getByLabel("Password").fill("cairn-demo");
  await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(fresh).toHaveURL((url) => url.pathname === `/runs/${run}`);
  await fresh.context().close();
});
