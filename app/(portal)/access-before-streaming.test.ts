// A page about one object (/experiments/<id>, /deployments/<id>, …) must answer another team's object
// with HTTP 404, not a 200 carrying a 404 body. A loading.tsx wraps its segment's children in Suspense,
// and once that fallback streams the status is fixed at 200 (Next's docs: loading.js, "Status codes"), so
// the access check has to run outside every loading boundary: in the page itself when no loading.tsx
// wraps it, or in a layout.tsx (forPage) at or below the dynamic segment and at or above the loading.tsx.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const PORTAL = path.join(__dirname);

function pages(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return pages(full);
    return name === "page.tsx" ? [full] : [];
  });
}

const isDynamic = (segment: string) => /^\[.+\]$/.test(segment);
const checksAccess = (file: string) => existsSync(file) && /forPage\(/.test(readFileSync(file, "utf8"));

/** Problems for one page: loading boundaries that stream before its object's access check ran. */
function problems(page: string): string[] {
  const rel = path.relative(PORTAL, path.dirname(page)).split(path.sep).filter(Boolean);
  const firstDynamic = rel.findIndex(isDynamic);
  if (firstDynamic < 0) return [];
  const out: string[] = [];
  for (let depth = 0; depth <= rel.length; depth++) {
    const dir = path.join(PORTAL, ...rel.slice(0, depth));
    if (!existsSync(path.join(dir, "loading.tsx"))) continue;
    // A layout at or above the loading (its own segment's layout is outside the boundary) and at or below the
    // dynamic segment, that checks access.
    const guarded = depth > firstDynamic
      && Array.from({ length: depth - firstDynamic }, (_, i) => path.join(PORTAL, ...rel.slice(0, firstDynamic + 1 + i), "layout.tsx")).some(checksAccess);
    if (!guarded) out.push(`${path.relative(PORTAL, page)} streams from ${path.relative(PORTAL, path.join(dir, "loading.tsx"))} before its access check`);
  }
  return out;
}

describe("object pages check access before anything streams", () => {
  const all = pages(PORTAL);

  it("finds the object pages", () => {
    const dynamic = all.filter((p) => path.relative(PORTAL, p).split(path.sep).some(isDynamic)).map((p) => path.relative(PORTAL, p));
    for (const page of ["(members)/approvals/[id]/page.tsx", "(members)/deployments/[id]/page.tsx", "(members)/experiments/[id]/page.tsx", "(members)/runs/[id]/page.tsx", "(members)/teams/[slug]/page.tsx", "(members)/jobs/[id]/page.tsx", "(members)/models/[name]/page.tsx"]) {
      expect(dynamic).toContain(page.split("/").join(path.sep));
    }
  });

  it("has no loading boundary above an object's access check", () => {
    expect(all.flatMap(problems)).toEqual([]);
  });

  it("checks access in each object page that has no guarding layout", () => {
    const unguarded = all.filter((p) => {
      const rel = path.relative(PORTAL, path.dirname(p)).split(path.sep);
      const first = rel.findIndex(isDynamic);
      if (first < 0) return false;
      const layouts = rel.slice(first).map((_, i) => path.join(PORTAL, ...rel.slice(0, first + 1 + i), "layout.tsx"));
      return !layouts.some(checksAccess) && !/forPage\(|notFound\(/.test(readFileSync(p, "utf8"));
    });
    expect(unguarded.map((p) => path.relative(PORTAL, p))).toEqual([]);
  });
});
