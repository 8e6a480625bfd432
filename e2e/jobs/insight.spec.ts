import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

// A job that holds ~150 MB and spins for a while (the resource sampler takes a sample every 5 s), then fails with an
// exception: its page charts CPU and memory while it runs, and its banner names the exception and links to its line.
const SCRIPT = [
  "const b = Buffer.alloc(150 * 1024 * 1024, 1);",
  "const end = Date.now() + 12000;",
  "while (Date.now() < end) { b[Math.floor(Math.random() * b.length)]++; }",
  "console.log('loaded ' + b.length + ' bytes of features');",
  "throw new TypeError('bad data: column tenure is missing');",
].join(" ");

test("a failed job's banner gives the cause from its log, and its CPU and memory are charted", async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  await signIn(page, "ds@example.com");
  const headers = { origin: baseURL! };
  const exp = await page.request.post("/api/v1/experiments", { data: { name: `insight-${Date.now()}`, team: "churn" }, headers });
  expect(exp.status()).toBe(201);
  const { experiment_id } = (await exp.json()) as { experiment_id: string };
  const train = await page.request.post(`/api/v1/experiments/${experiment_id}/train`, {
    data: { command: ["node", "-e", SCRIPT], instance_type: "cpu.small", max_runtime_seconds: 120, name: "insight e2e" }, headers,
  });
  expect(train.status()).toBe(202);
  const { job_id } = (await train.json()) as { job_id: string };

  await page.goto(`/jobs/${job_id}`);
  const resources = page.getByRole("region", { name: "CPU and memory" });
  // While it runs: the charts fill in without a reload.
  await expect(resources.getByRole("figure", { name: "Chart of CPU (cores)" })).toBeVisible({ timeout: 30_000 });
  await expect(resources.getByRole("figure", { name: "Chart of Memory (GiB)" })).toBeVisible();
  await expect(resources).toContainText("read from the job's processes");

  // After it failed: the cause, not only the exit code, with a link to the line in the log.
  const banner = page.getByRole("alert", { name: "Why the job failed" });
  await expect(banner).toContainText("Failed: TypeError: bad data: column tenure is missing", { timeout: 60_000 });
  await expect(banner).toContainText("Process: exited with code 1");
  const link = banner.getByRole("link", { name: /^line \d+ of the log$/ });
  const line = Number((await link.textContent())!.match(/\d+/)![0]);
  await link.click();
  await expect(page).toHaveURL(new RegExp(`#log-L${line}$`));
  const target = page.getByTestId("job-log").locator(`#log-L${line}`);
  await expect(target).toHaveText("TypeError: bad data: column tenure is missing");
  await expect(target).toHaveAttribute("aria-current", "location");
  await expect(target).toBeInViewport();
  await expect(page.getByRole("list", { name: "Status timeline" })).toContainText("exited with code 1: TypeError: bad data: column tenure is missing");
  // The charts stay, with the peak memory against what the job asked for (cpu.small: 4 GiB).
  await expect(resources).toContainText(/Peak memory 0\.\d\d GiB of 4\.00 GiB requested/);

  // The API answers the same cause.
  const job = (await (await page.request.get(`/api/v1/jobs/${job_id}`)).json()) as { failure: { kind: string; line: number } };
  expect(job.failure).toMatchObject({ kind: "exception", line });
});
