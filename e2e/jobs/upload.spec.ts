import { expect, test } from "@playwright/test";
import { zipOf } from "../../server/jobs/testing/archives";
import { signIn } from "../helpers";

// A tiny training program: counts the words of its data file and logs the count to its run through the
// MLflow REST API with the job's own token, as an unmodified MLflow script would.
const TRAIN = `
import { readFileSync } from "node:fs";
const words = readFileSync("data/words.txt", "utf8").trim().split(/\\s+/).length;
const res = await fetch(process.env.MLFLOW_TRACKING_URI + "/api/2.0/mlflow/runs/log-metric", {
  method: "POST",
  headers: { authorization: "Bearer " + process.env.MLFLOW_TRACKING_TOKEN, "content-type": "application/json" },
  body: JSON.stringify({ run_id: process.env.MLFLOW_RUN_ID, key: "word_count", value: words, timestamp: Date.now(), step: 0 }),
});
if (!res.ok) { console.error("logging failed", res.status, await res.text()); process.exit(1); }
console.log("logged word_count=" + words);
`;

test("upload a code archive from the launch form, train from it, and find it as the run's code", async ({ page }) => {
  test.setTimeout(120_000);
  // GitHub-style: everything inside one top-level folder, which Cairn unwraps.
  const zip = zipOf([
    { name: "word-count-main/cairn.json", data: JSON.stringify({ name: "word-count", command: ["node", "train.mjs"] }) },
    { name: "word-count-main/train.mjs", data: TRAIN },
    { name: "word-count-main/data/words.txt", data: "one two three four five\n" },
  ]);

  await signIn(page, "ds@example.com");
  await page.goto("/experiments");
  await page.getByRole("link", { name: "churn-baseline" }).click();
  await page.getByRole("link", { name: "Train", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Launch training" })).toBeVisible();
  await page.getByLabel("Code", { exact: true }).selectOption("upload");
  // Nothing to launch until an archive is uploaded.
  await expect(page.getByRole("button", { name: "Launch training" })).toBeDisabled();

  // A file that is not an archive is refused inline, with the reason.
  await page.getByLabel("Code archive (zip or .tar.gz)").setInputFiles({ name: "train.py", mimeType: "text/x-python", buffer: Buffer.from("print('hi')") });
  await expect(page.getByRole("alert").filter({ hasText: "The archive was refused" })).toContainText("neither a zip file nor a gzip-compressed tar");

  await page.getByLabel("Code archive (zip or .tar.gz)").setInputFiles({ name: "word-count-main.zip", mimeType: "application/zip", buffer: zip });
  const picked = page.getByTestId("code-archive");
  await expect(picked).toContainText("word-count-main.zip");
  await expect(picked).toContainText("3 files");
  await expect(picked).toContainText("node train.mjs");
  await expect(page.getByLabel("Command")).toHaveValue("node train.mjs");
  await expect(page.getByTestId("admission")).toHaveText("Starts right away.");
  await page.getByRole("button", { name: "Launch training" }).click();

  await expect(page).toHaveURL(/\/jobs\/[0-9a-f-]{36}$/);
  const overview = page.locator("section").filter({ has: page.getByRole("heading", { name: "Overview" }) });
  await expect(overview).toContainText("word-count-main.zip");
  await expect(page.getByRole("link", { name: "Download (.tar.gz)" })).toHaveAttribute("href", /\/api\/v1\/jobs\/[0-9a-f-]{36}\/code$/);
  await expect(page.getByRole("list", { name: "Status timeline" })).toContainText("succeeded", { timeout: 60_000 });
  await expect(page.getByTestId("job-log")).toContainText("logged word_count=5");

  // The code route serves the archive's content as .tar.gz to the signed-in member.
  const href = await page.getByRole("link", { name: "Download (.tar.gz)" }).getAttribute("href");
  const code = await page.request.get(href!);
  expect(code.status()).toBe(200);
  expect(code.headers()["content-disposition"]).toBe('attachment; filename="word-count-main.tar.gz"');

  // Clone and edit keeps the uploaded archive as the code.
  const jobUrl = page.url();
  await page.getByRole("link", { name: /clone and edit/i }).click();
  await expect(page.getByLabel("Code", { exact: true })).toHaveValue("upload");
  await expect(page.getByTestId("code-archive")).toContainText("word-count-main.zip");
  await expect(page.getByRole("button", { name: "Launch training" })).toBeEnabled();
  await page.goto(jobUrl);

  // The run: the metric the job logged, and the archive as uploaded under artifacts/code/.
  // The job names its run, and links it by that name; the run links back to the job.
  const jobName = (await page.getByRole("heading", { level: 1 }).innerText()).trim();
  const runName = (await page.getByRole("main").locator('a[href^="/runs/"]').first().innerText()).trim();
  expect(runName).not.toMatch(/…$/);
  await page.getByRole("main").getByRole("link", { name: runName }).click();
  await expect(page).toHaveURL(/\/runs\/[0-9a-f]{32}$/);
  await expect(page.getByRole("main").getByRole("link", { name: jobName }).first()).toBeVisible();
  await expect(page.getByRole("table", { name: "Latest metrics" })).toContainText("word_count");
  await expect(page.getByText("word-count-main.zip").first()).toBeVisible();
  await page.getByRole("navigation", { name: "Run sections" }).getByRole("link", { name: /Artifacts/ }).click();
  const files = page.getByRole("list", { name: "Artifacts" });
  await files.getByRole("button", { name: /^▸ code/ }).click();
  await expect(files.getByRole("button", { name: /word-count-main\.zip/ })).toBeVisible();
});
