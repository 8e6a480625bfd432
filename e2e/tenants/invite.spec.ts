import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

const PASSWORD = "invited-and-long";

test("a team lead invites an unknown email; the invitee opens the link in a fresh browser, sets a password, signs in — and the link works once", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await signIn(page, "lead@example.com");
  await page.goto("/teams/churn");
  const email = `invitee-${Date.now().toString(36)}@example.com`;
  const add = page.getByRole("form", { name: "Add member" });
  await add.getByLabel("Email").fill(email);
  await add.getByLabel("Role").selectOption("ml_engineer");
  await add.getByRole("button", { name: "Add member" }).click();

  // The link is shown once, with a copy button; there is no mail server, so the page says to send it.
  const shown = page.getByRole("region", { name: "Invitation link" });
  await expect(shown).toContainText(`Invitation created for ${email}`);
  await expect(shown).toContainText("send this link to the person yourself");
  await expect(shown.getByRole("button", { name: "Copy link" })).toBeVisible();
  const link = await shown.getByLabel(`Invitation link for ${email}`).inputValue();
  expect(link).toMatch(/\/invite\/[\w-]{43}$/);
  // Pending in the members table: email, role, who invited, when it expires.
  const row = page.getByRole("table", { name: "Members" }).getByRole("row").filter({ hasText: email });
  await expect(row).toContainText("Invitation pending");
  await expect(row).toContainText("ML engineer");
  await expect(row).toContainText("invited by lead@example.com");
  await expect(row).toContainText("expires");

  // The invitee, signed out, in a browser of their own.
  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(link);
  await expect(invitee.getByRole("heading", { name: "Join Customer Churn on Cairn" })).toBeVisible();
  await expect(invitee.getByText(`lead@example.com invited ${email} to team churn as ML engineer.`)).toBeVisible();
  await invitee.getByLabel("Your name").fill("Ivy Invitee");
  await invitee.getByLabel("Password", { exact: true }).fill("short");
  await invitee.getByLabel("Repeat password").fill("short");
  await invitee.getByRole("button", { name: "Set password and join" }).click();
  await expect(invitee.locator("#password-error")).toContainText("at least 10 characters");
  await invitee.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await invitee.getByLabel("Repeat password").fill(PASSWORD);
  await invitee.getByRole("button", { name: "Set password and join" }).click();
  await expect(invitee.getByRole("status")).toContainText("Invitation accepted — sign in with your new password");
  await invitee.getByRole("link", { name: "Sign in" }).click();
  await expect(invitee).toHaveURL((url) => url.pathname === "/login");
  await invitee.getByLabel("Email").fill(email);
  await invitee.getByLabel("Password").fill(PASSWORD);
  await invitee.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(invitee).not.toHaveURL((url) => url.pathname === "/login");
  const me = await (await invitee.request.get("/api/v1/me")).json();
  expect(me).toMatchObject({ user: { email, name: "Ivy Invitee" }, teams: [{ slug: "churn", role: "ml_engineer" }] });

  // The link works once.
  const again = await (await browser.newContext()).newPage();
  await again.goto(link);
  await expect(again.getByText("This invitation was already used.")).toBeVisible();
  await expect(again.getByRole("button", { name: "Set password and join" })).toHaveCount(0);

  // The lead now sees a member, no longer an invitation.
  await page.reload();
  const member = page.getByRole("table", { name: "Members" }).getByRole("row").filter({ hasText: email });
  await expect(member).toContainText("Ivy Invitee");
  await expect(member).toContainText("Member");
  await expect(member).not.toContainText("Invitation pending");
});

test("a lead revokes a pending invitation after a confirmation; its link then says so", async ({ page, browser }) => {
  await signIn(page, "lead@example.com");
  await page.goto("/teams/churn");
  const email = `revoked-${Date.now().toString(36)}@example.com`;
  const add = page.getByRole("form", { name: "Add member" });
  await add.getByLabel("Email").fill(email);
  await add.getByRole("button", { name: "Add member" }).click();
  const link = await page.getByLabel(`Invitation link for ${email}`).inputValue();

  await page.getByRole("button", { name: `Revoke invitation for ${email}` }).click();
  const confirm = page.getByRole("alertdialog", { name: "Confirm revocation" });
  await expect(confirm).toContainText(`Revoke the invitation for ${email}?`);
  // Cancel keeps it.
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("table", { name: "Members" })).toContainText(email);
  await page.getByRole("button", { name: `Revoke invitation for ${email}` }).click();
  await page.getByRole("alertdialog", { name: "Confirm revocation" }).getByRole("button", { name: "Yes, revoke" }).click();
  await expect(page.getByText(`Revoked the invitation for ${email}.`)).toBeVisible();
  await expect(page.getByRole("table", { name: "Members" })).not.toContainText(email);

  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(link);
  await expect(invitee.getByText("This invitation was revoked.")).toBeVisible();
  await expect(invitee.getByText("Ask lead@example.com for a new one.")).toBeVisible();

  // A made-up link is not valid.
  await invitee.goto(`/invite/${"x".repeat(43)}`);
  await expect(invitee.getByRole("heading", { name: "This invitation link is not valid" })).toBeVisible();
});
