import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

test("an admin adds an instance type, sees a mistake explained, changes its price, a member can launch on it, and the admin removes it", async ({ page, browser }) => {
  await signIn(page, "admin@example.com");
  await page.goto("/admin");
  const form = page.getByRole("form", { name: "Instance type" });
  await form.getByLabel("Instance type").fill("cpu.medium");
  await form.getByLabel("CPU (cores)").fill("4");
  await form.getByLabel("Memory (GiB)").fill("16");
  await form.getByLabel("GPUs").fill("2");
  await form.getByLabel("Price per hour (USD)").fill("0.2");
  await form.getByRole("button", { name: "Save instance type" }).click();
  await expect(form.getByText("an instance type with GPUs names their type")).toBeVisible();
  await form.getByLabel("GPUs").fill("");
  await form.getByRole("button", { name: "Save instance type" }).click();
  await expect(form.getByRole("status")).toContainText("Saved cpu.medium");
  const table = page.getByRole("table", { name: "Instance types" });
  await expect(table.getByRole("row", { name: /cpu\.medium/ })).toContainText("$0.20");

  await form.getByLabel("Instance type").fill("cpu.medium");
  await form.getByLabel("CPU (cores)").fill("4");
  await form.getByLabel("Memory (GiB)").fill("16");
  await form.getByLabel("Price per hour (USD)").fill("0.25");
  await form.getByRole("button", { name: "Save instance type" }).click();
  await expect(table.getByRole("row", { name: /cpu\.medium/ })).toContainText("$0.25");

  // A member sees it in the launch form, priced.
  const member = await (await browser.newContext()).newPage();
  await signIn(member, "ds@example.com");
  await member.goto("/jobs/new");
  await member.getByLabel("Experiment").selectOption({ index: 1 });
  await member.getByLabel("Instance type").selectOption("cpu.medium");
  await expect(member.getByTestId("cost-per-hour")).toHaveText("$0.25");

  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Remove instance type cpu.medium" }).click();
  await expect(table).not.toContainText("cpu.medium");
});
