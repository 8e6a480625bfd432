import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { signIn } from "../helpers";

/** The Team column of a list's table: every row's team. */
async function teamsIn(page: Page, caption: string, column = "Team"): Promise<string[]> {
  const table = page.getByRole("table", { name: caption });
  await expect(table).toBeVisible();
  const headers = await table.getByRole("columnheader").allInnerTexts();
  const at = headers.findIndex((h) => h.trim().toLowerCase() === column.toLowerCase());
  expect(at, `${caption} has a ${column} column`).toBeGreaterThanOrEqual(0);
  const rows = table.locator("tbody tr").filter({ hasNot: page.locator("td[colspan]") });
  return (await rows.evaluateAll((trs, i) => trs.map((tr) => (tr.children[i] as HTMLElement | undefined)?.innerText.trim() ?? ""), at));
}

test("the team switcher scopes every list, the address carries it, and the navigation keeps it", async ({ page, browser, baseURL }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/experiments?team=all");
  const all = new Set(await teamsIn(page, "Experiments"));
  expect(all.has("churn") && all.has("fraud")).toBe(true);

  await page.getByLabel("Switch team").selectOption("fraud");
  await expect(page).toHaveURL((url) => url.pathname === "/experiments" && url.searchParams.get("team") === "fraud");
  expect(new Set(await teamsIn(page, "Experiments"))).toEqual(new Set(["fraud"]));

  const nav = page.getByRole("navigation", { name: "Main" });
  for (const [label, path, caption] of [["Jobs", "/jobs", "Jobs"], ["Models", "/models", "Registered models"], ["Deployments", "/deployments", "Deployments"]] as const) {
    await nav.getByRole("link", { name: label }).click();
    await expect(page).toHaveURL((url) => url.pathname === path && url.searchParams.get("team") === "fraud");
    await expect(page.getByLabel("Switch team")).toHaveValue("fraud");
    const teams = await teamsIn(page, caption);
    expect(teams.every((t) => t === "fraud"), `${label}: ${teams.join(", ")}`).toBe(true);
  }
  await nav.getByRole("link", { name: "Costs" }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/costs" && url.searchParams.get("team") === "fraud");
  await expect(page.getByRole("meter", { name: "fraud budget" })).toBeVisible();
  await expect(page.getByRole("meter", { name: "churn budget" })).toHaveCount(0);

  // The address is the scope: opened elsewhere, the same link shows fraud's jobs.
  await nav.getByRole("link", { name: "Jobs" }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/jobs" && url.searchParams.get("team") === "fraud");
  const link = page.url();
  const other = await (await browser.newContext({ baseURL })).newPage();
  await signIn(other, "admin@example.com");
  await other.goto(link);
  await expect(other.getByLabel("Switch team")).toHaveValue("fraud");
  expect((await teamsIn(other, "Jobs")).every((t) => t === "fraud")).toBe(true);
  await other.context().close();

  // "All my teams" lists every team again, with the team column.
  await page.getByLabel("Switch team").selectOption("all");
  await expect(page).toHaveURL((url) => url.pathname === "/jobs" && url.searchParams.get("team") === "all");
  expect(new Set(await teamsIn(page, "Jobs")).size).toBeGreaterThan(1);
});

test("a member cannot scope a list to a team that is not theirs", async ({ page }) => {
  await signIn(page, "ds@example.com");
  await page.goto("/jobs?team=fraud");
  const teams = await teamsIn(page, "Jobs");
  expect(teams.length).toBeGreaterThan(0);
  expect(teams.every((t) => t === "churn")).toBe(true);
  await page.goto("/experiments?team=fraud");
  expect((await teamsIn(page, "Experiments")).every((t) => t === "churn")).toBe(true);
});
