import { expect, test } from "@playwright/test";
import type { Locator, Page } from "@playwright/test";
import { signIn } from "../helpers";

/** On the team page: adds ds@example.com as a data scientist. */
async function addDataScientist(page: Page): Promise<void> {
  const add = page.getByRole("form", { name: "Add member" });
  await add.getByLabel("Email").fill("ds@example.com");
  await add.getByLabel("Role").selectOption("data_scientist");
  await add.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByRole("table", { name: "Members" })).toContainText("ds@example.com");
}

/** As a member: creates an experiment in the team and opens its launch form. */
async function openLaunchFormInNewExperiment(member: Page, slug: string, name: string): Promise<void> {
  await member.goto("/experiments");
  await member.getByRole("button", { name: "New experiment" }).click();
  await member.getByLabel("Experiment name").fill(name);
  await member.getByLabel("Team", { exact: true }).selectOption(slug);
  await member.getByRole("button", { name: "Create experiment" }).click();
  await member.getByRole("link", { name: "Train", exact: true }).click();
}

/** Signs in as the admin, creates a team from the admin console and opens its quota form. */
async function newTeamQuotaForm(page: Page, slug: string, name: string): Promise<Locator> {
  await signIn(page, "admin@example.com");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Slug").fill(slug);
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.getByRole("status")).toContainText(`Team ${slug} created`);
  await page.goto(`/teams/${slug}`);
  return page.getByRole("form", { name: "Quota" });
}

test("an admin sets a 2-GPU quota and adds a member; the member's 4-GPU job is refused, a 2-GPU job runs and a second queues with its reason", async ({ page, browser }) => {
  test.setTimeout(180_000);
  const slug = `gpu${Date.now().toString(36)}`;
  const quota = await newTeamQuotaForm(page, slug, `GPU team ${slug}`);
  await quota.getByLabel("GPUs (total)").fill("2");
  // gpu.large also needs 32 CPU and 256 GiB; a new team starts with less.
  await quota.getByLabel("CPU (cores)").fill("128");
  await quota.getByLabel("Memory (GiB)", { exact: true }).fill("1024");
  await quota.getByRole("button", { name: "Save quota" }).click();
  await expect(quota.getByRole("status")).toHaveText("Saved.");
  await addDataScientist(page);

  // The member, in their own session.
  const member = await (await browser.newContext()).newPage();
  await signIn(member, "ds@example.com");
  await openLaunchFormInNewExperiment(member, slug, `gpu-work-${slug}`);
  await member.getByLabel("Code").selectOption("");
  await member.getByLabel("Command").fill("sleep 90");
  await member.getByLabel("Instance type").selectOption("gpu.large");
  await member.getByLabel("GPUs").fill("4");
  await expect(member.getByTestId("admission")).toHaveText(`Cannot run: the job needs 4 GPUs; team ${slug}'s quota is 2 GPUs.`);
  await expect(member.getByRole("button", { name: /Launch/ })).toBeDisabled();

  await member.getByLabel("GPUs").fill("2");
  await expect(member.getByTestId("admission")).toHaveText("Starts right away.");
  await member.getByRole("button", { name: "Launch training" }).click();
  await expect(member).toHaveURL(/\/jobs\/[0-9a-f-]{36}$/);
  await expect(member.getByRole("list", { name: "Status timeline" })).toContainText("running");
  const first = member.url();

  await member.getByRole("link", { name: /Clone and edit/ }).click();
  await expect(member.getByTestId("admission")).toHaveText(`Will queue: waiting for 2 GPUs: team ${slug} uses 2 of 2.`);
  await member.getByRole("button", { name: "Launch (will queue)" }).click();
  await expect(member.getByRole("main").getByRole("status").first()).toContainText(`Queued: waiting for 2 GPUs: team ${slug} uses 2 of 2`);

  const second = member.url();

  // The member sees the team's headroom on the jobs page, scoped to that team.
  await member.goto(`/jobs?team=${slug}`);
  await expect(member.getByTestId(`headroom-${slug}`)).toContainText("0 of 2 GPUs");
  await expect(member.getByTestId(`headroom-${slug}`)).toContainText("1 queued for quota");

  // The team page shows usage against the quota and the queue, and where the quota is enforced.
  await page.reload();
  await expect(page.getByText("Local backend: jobs run as processes on the Cairn host")).toBeVisible();
  await expect(page.getByRole("meter", { name: "GPUs" })).toHaveAttribute("aria-valuenow", "2");
  await expect(page.getByRole("table", { name: "Queued jobs" })).toContainText("waiting for 2 GPUs");
  await expect(page.getByRole("table", { name: "Running work" })).toContainText("ds@example.com");

  // Clean up: cancel both.
  for (const url of [second, first]) {
    await member.goto(url);
    member.once("dialog", (d) => void d.accept());
    await member.getByRole("button", { name: "Cancel job" }).click();
    await expect(member.getByRole("list", { name: "Status timeline" })).toContainText("cancelled");
  }

  // The admin removes the member again; their next request no longer sees the team.
  await page.getByRole("button", { name: "Remove ds@example.com" }).click();
  await page.getByRole("alertdialog", { name: "Confirm removal" }).getByRole("button", { name: "Yes, remove" }).click();
  await expect(page.getByRole("table", { name: "Members" })).not.toContainText("ds@example.com");
  const gone = await member.goto(`/teams/${slug}`);
  expect(gone?.status()).toBe(404);
});

test("an admin sets per-container limits and the team's model replicas; a member sees them, and the launch form refuses a job outside them before it is sent", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const slug = `lim${Date.now().toString(36)}`;
  const quota = await newTeamQuotaForm(page, slug, `Limits ${slug}`);
  // The team's model replicas: a whole number, shown as the Replicas bar once saved.
  await expect(quota.getByLabel("Model replicas")).toHaveValue("10");
  await quota.getByLabel("Model replicas").fill("2.5");
  await quota.getByRole("button", { name: "Save quota" }).click();
  await expect(quota.getByRole("alert")).toContainText("max_replicas must be a whole number of model replicas");
  await quota.getByLabel("Model replicas").fill("3");
  await quota.getByLabel("Max CPU").fill("4");
  await quota.getByLabel("Min CPU").fill("8");
  await quota.getByRole("button", { name: "Save quota" }).click();
  await expect(quota.getByRole("alert")).toContainText("min cpu (8) is more than max cpu (4)");
  await quota.getByLabel("Min CPU").fill("");
  await quota.getByLabel("Default CPU request").fill("1");
  await quota.getByRole("button", { name: "Save quota" }).click();
  await expect(quota.getByRole("alert")).toContainText("give the default request's cpu and memory_gib together");
  await quota.getByLabel("Default memory request (GiB)").fill("2");
  await quota.getByRole("button", { name: "Save quota" }).click();
  await expect(quota.getByRole("status")).toHaveText("Saved.");
  await addDataScientist(page);

  const member = await (await browser.newContext()).newPage();
  await signIn(member, "ds@example.com");
  await member.goto(`/teams/${slug}`);
  await expect(member.getByText("cpu ≤ 4 (default 1) · memory (default 2 GiB)")).toBeVisible();
  await expect(member.getByRole("meter", { name: "Replicas" })).toHaveAttribute("aria-valuemax", "3");
  await openLaunchFormInNewExperiment(member, slug, `limits-${slug}`);
  await member.getByLabel("Code").selectOption("");
  await member.getByLabel("Command").fill("true");
  await member.getByLabel("Instance type").selectOption("cpu.large");
  await expect(member.getByTestId("admission")).toHaveText(`Cannot run: the job asks for 8 CPU; team ${slug}'s limit range allows at most 4 CPU per container.`);
  await expect(member.getByRole("button", { name: /Launch/ })).toBeDisabled();
  await member.getByLabel("Instance type").selectOption("cpu.small");
  await expect(member.getByTestId("admission")).toHaveText("Starts right away.");

  await page.getByRole("button", { name: "Remove ds@example.com" }).click();
  await page.getByRole("alertdialog", { name: "Confirm removal" }).getByRole("button", { name: "Yes, remove" }).click();
  await expect(page.getByRole("table", { name: "Members" })).not.toContainText("ds@example.com");
});
