// The OpenAPI document (GET /api/v1/openapi.json) describes every /api/v1 route and method that exists, and
// nothing that does not: a new route without its operation, or an operation whose route is gone, fails here.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "./openapi";

const ROOT = path.resolve(import.meta.dirname, "../../app/api/v1");

/** "METHOD /api/v1/path/{param}" for every exported handler of every route file under app/api/v1. */
function routeOperations(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...routeOperations(full));
    else if (entry.name === "route.ts") {
      const route = full.slice(ROOT.length).replace(/\/route\.ts$/, "").replace(/\[([a-z_]+)\]/g, "{$1}");
      // The catch-all answers unknown /api/v1 paths with a JSON 404: not an operation.
      if (route.includes("[...")) continue;
      for (const m of readFileSync(full, "utf8").matchAll(/export (?:const|async function) (GET|POST|PUT|PATCH|DELETE)\b/g)) out.push(`${m[1]} /api/v1${route}`);
    }
  }
  return out.sort();
}

describe("the OpenAPI document", () => {
  it("lists exactly the /api/v1 routes and methods that exist", () => {
    const doc = openApiDocument("test") as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const routes = routeOperations();
    expect(routes.filter((r) => !documented.includes(r)), "routes missing from the document (server/http/openapi.ts)").toEqual([]);
    expect(documented.filter((d) => !routes.includes(d)), "documented operations with no route").toEqual([]);
  });
});
