// Test fixtures: a fresh database with the demo organization, actors for its users, route helpers.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { Db } from "@/db/client";
import { seedDemo } from "@/db/seed/demo";
import { createTestDatabase } from "@/db/test-db";
import type { TestDatabase } from "@/db/test-db";
import { createFsArtifactStore } from "../artifacts/fs-store";
import { setAnchorFile } from "../audit/anchor";
import { startRouteCache, stopRouteCache } from "../deployments/route-cache";
import type { ArtifactStore } from "../artifacts/store";

export { actorFor, ctxFor, tokenFor } from "./actors";

export const DEMO = {
  admin: "admin@example.com",
  lead: "lead@example.com",
  mle: "mle@example.com",
  ds: "ds@example.com",
  leadFraud: "lead.fraud@example.com",
  dsFraud: "ds.fraud@example.com",
} as const;

const globals = globalThis as unknown as {
  __cairnReady?: Promise<Db>;
  __cairnDb?: { promise: Promise<TestDatabase> };
  __cairnArtifacts?: ArtifactStore;
};

/** A fresh demo database for the test file; also serves the route handlers under test. */
/** `routeCache`: the gateway keeps routes in memory for this database, as a started server does (route-cache.ts). */
export function demoDatabase(opts: { routeCache?: boolean } = {}): () => Db {
  let database: TestDatabase | undefined;
  let artifactDir: string | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemo(database.db);
    // Route handlers under test use this database (see server/bootstrap.ts and db/client.ts).
    globals.__cairnReady = Promise.resolve(database.db);
    globals.__cairnDb = { promise: Promise.resolve(database) };
    artifactDir = mkdtempSync(path.join(os.tmpdir(), "cairn-artifacts-"));
    globals.__cairnArtifacts = createFsArtifactStore(artifactDir);
    // The audit anchor belongs to this database, not to the data dir every test file shares.
    setAnchorFile(path.join(artifactDir, "audit-anchor"));
    if (opts.routeCache) await startRouteCache(database.db, { backend: database.backend, url: database.url });
  });
  afterAll(async () => {
    globals.__cairnReady = undefined;
    globals.__cairnDb = undefined;
    globals.__cairnArtifacts = undefined;
    setAnchorFile(undefined);
    if (artifactDir) rmSync(artifactDir, { recursive: true, force: true });
    if (database) await stopRouteCache(database.db);
    await database?.close();
  });
  return () => {
    if (!database) throw new Error("database not ready");
    return database.db;
  };
}

/** Calls a route handler the way Next does. */
export async function call(
  handler: (req: Request, ctx: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>,
  init: { method?: string; path?: string; token?: string; headers?: Record<string, string>; body?: unknown; params?: Record<string, string | string[]> } = {},
): Promise<{ status: number; json: unknown; response: Response }> {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set("authorization", `Bearer ${init.token}`);
  if (init.body !== undefined) headers.set("content-type", "application/json");
  const req = new Request(`http://localhost${init.path ?? "/"}`, {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
  });
  const response = await handler(req, { params: Promise.resolve(init.params ?? {}) });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: response.status, json, response };
}
