// The typed TypeScript client (lib/api/client.ts) against the document it was generated from: the checked-in
// types match what openapi-typescript makes of the document now, and a call through the client reaches a route
// with typed paths, parameters and bodies.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cairnClient } from "@/lib/api/client";
import { GET as meRoute } from "@/app/api/v1/me/route";
import { POST as createExperimentRoute } from "@/app/api/v1/experiments/route";
import { DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { openApiTypes, TYPES_FILE } from "@/server/http/openapi-types";

const db = demoDatabase();

/** A fetch that hands requests to the route handlers under test, as `next start` would. */
function routed(): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const { pathname } = new URL(req.url);
    if (pathname === "/api/v1/me" && req.method === "GET") return meRoute(req, { params: Promise.resolve({}) });
    if (pathname === "/api/v1/experiments" && req.method === "POST") return createExperimentRoute(req, { params: Promise.resolve({}) });
    return new Response(JSON.stringify({ error: { code: "not_found", message: `no route ${req.method} ${pathname} in this test` } }), { status: 404 });
  };
}

describe("the typed client", () => {
  it("is generated from the current document (run npx tsx scripts/openapi-client.ts after an API change)", async () => {
    const checkedIn = readFileSync(path.resolve(import.meta.dirname, "../../../..", TYPES_FILE), "utf8");
    expect(checkedIn === (await openApiTypes()), `${TYPES_FILE} is stale: run npx tsx scripts/openapi-client.ts`).toBe(true);
  });

  it("calls the API with a token: data on success, the API's error otherwise", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const cairn = cairnClient({ baseUrl: "http://localhost", token, fetch: routed() });
    const me = await cairn.GET("/api/v1/me");
    expect(me.response.status).toBe(200);
    expect(me.data).toMatchObject({ user: { email: DEMO.ds } });
    const made = await cairn.POST("/api/v1/experiments", { body: { name: `typed-${Date.now()}`, team: "churn" } });
    expect(made.response.status, JSON.stringify(made.error)).toBe(201);
    const refused = await cairn.POST("/api/v1/experiments", { body: { name: "", team: "churn" } });
    expect(refused.response.status).toBe(400);
    expect(refused.error).toMatchObject({ error: { code: "invalid_input" } });
    const anonymous = await cairnClient({ baseUrl: "http://localhost", fetch: routed() }).GET("/api/v1/me");
    expect(anonymous.response.status).toBe(401);
  });
});
