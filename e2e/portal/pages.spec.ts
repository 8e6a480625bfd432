import { expect, test } from "@playwright/test";
import { signIn } from "../helpers";

// Every page in the navigation, as the roles that see it: no user-visible text claims a built feature is
// missing, nothing overflows the viewport sideways, and a screenshot of each at 1280×720 and 1920×1080 is
// kept (test-results/screens/) for the review a resolution needs.
const UNTRUE = /not (yet )?built|coming soon|not implemented|isn't built|is not built|<this site's url>/i;
const VIEWPORTS = [{ width: 1280, height: 720 }, { width: 1920, height: 1080 }] as const;

for (const email of ["admin@example.com", "lead@example.com", "ds@example.com"]) {
  test(`every page in the navigation reads true and fits, as ${email}`, async ({ page }, info) => {
    test.setTimeout(180_000);
    await signIn(page, email);
    const nav = page.getByRole("navigation", { name: "Main" });
    const pages = [{ label: "Home", href: "/" }, ...await nav.getByRole("link").evaluateAll((links) =>
      links.map((a) => ({ label: (a as HTMLAnchorElement).innerText.trim(), href: new URL((a as HTMLAnchorElement).href).pathname + new URL((a as HTMLAnchorElement).href).search }))
        .filter((l) => l.label))];
    expect(pages.length).toBeGreaterThan(5);
    for (const { label, href } of pages) {
      for (const viewport of VIEWPORTS) {
        await page.setViewportSize(viewport);
        const res = await page.goto(href);
        expect(res?.status(), `${href}`).toBeLessThan(400);
        await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
        const text = await page.locator("body").innerText();
        expect(text.match(UNTRUE)?.[0] ?? null, `${href} as ${email} says`).toBeNull();
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${href} at ${viewport.width}px scrolls sideways`).toBeLessThanOrEqual(1);
        await page.screenshot({ path: info.outputPath(`screens/${email.split("@")[0]}-${(label || "home").toLowerCase().replace(/\W+/g, "-")}-${viewport.width}.png`), fullPage: true });
      }
    }
  });
}
