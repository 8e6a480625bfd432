import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { api, signIn } from "../e2e/helpers";

/** Reloads until `check` passes: the page reads the cluster when it renders, and the cluster moves on its own. */
async function eventually(page: Page, check: () => Promise<void>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await page.waitForTimeout(2000);
      await page.reload();
    }
  }
}

test("an admin sees the cluster: nodes with their GPU types and each team's ResourceQuota", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/admin");
  const nodes = page.getByRole("table", { name: "Nodes: requested by pods vs. allocatable" });
  await expect(nodes).toBeVisible();
  await expect(nodes.getByRole("row", { name: /kwok-gpu-a100-0/ })).toContainText("nvidia-a100");
  await expect(nodes.getByRole("row", { name: /kwok-gpu-t4-0/ })).toContainText("nvidia-t4");
  await expect(nodes.getByRole("row", { name: /kwok-cpu-0/ })).toContainText("ready");
  // The tenant sync gives every team its namespace and quota; the API server's count shows beside the limit.
  await eventually(page, async () => {
    const quotas = page.getByRole("table", { name: /Teams' ResourceQuotas/ });
    await expect(quotas.getByRole("row", { name: /cairn-churn/ })).toBeVisible({ timeout: 2000 });
    await expect(quotas.getByRole("row", { name: /cairn-fraud/ })).toBeVisible({ timeout: 2000 });
  });
  await expect(page.getByRole("table", { name: "All teams" }).getByRole("row", { name: /Customer Churn/ })).toContainText("in sync");
});

test("a member sees a deployment's rollout and pods, and a job's pods and events, on Kubernetes", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/deployments");
  await page.getByRole("table").getByRole("link").first().click();
  await expect(page).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/);
  // The reconciler applies the Deployment; KWOK marks its pod Ready.
  await eventually(page, async () => {
    await expect(page.getByText(/^On Kubernetes · cairn-churn\/cairn-model-[0-9a-f]{12}$/)).toBeVisible({ timeout: 2000 });
    await expect(page.getByText(/Rollout: 1 of 1 available/)).toBeVisible({ timeout: 2000 });
  });
  const pods = page.getByRole("table", { name: "The deployment's pods" });
  await expect(pods.locator("tbody tr").first()).toContainText("Running");
  await expect(page.getByRole("list", { name: "Kubernetes events" })).toContainText("ScalingReplicaSet");

  // A job submitted with the member's session becomes a batch/v1 Job whose pod the real scheduler places.
  // The typed client over the browser's session (api() sends this site's Origin, as a signed-in write must).
  const experiments = (await api(page).GET("/api/v1/experiments", { params: { query: { team: "churn" } } })).data as { experiments: { experiment_id: string; name: string }[] };
  const exp = experiments.experiments.find((e) => e.name === "churn-baseline") ?? experiments.experiments[0]!;
  const res = await api(page).POST("/api/v1/experiments/{id}/train", {
    params: { path: { id: exp.experiment_id } },
    body: { command: ["python", "train.py"], instance_type: "cpu.small", max_runtime_seconds: 600 },
  });
  expect(res.response.status, JSON.stringify(res.error)).toBe(202);
  const { job_id } = res.data as { job_id: string };
  await page.goto(`/jobs/${job_id}`);
  await eventually(page, async () => {
    await expect(page.getByRole("table", { name: "The job's pods" }).locator("tbody tr").first()).toContainText(/kwok-/, { timeout: 2000 });
    await expect(page.getByRole("list", { name: "Kubernetes events" })).toContainText("Scheduled", { timeout: 2000 });
  });
});
