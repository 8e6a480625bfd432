// Inference reaching a Cairn process that does not lead the workers: replicas run in the leader, so the
// follower passes the request, as it came, to the address the leader advertises on its lock's session
// (CAIRN_INTERNAL_URL), and answers what the leader answered. Here a small HTTP server plays the leader's
// gateway, so what the follower sends is seen exactly. (e2e/workers/two-processes.spec.ts does it with two
// `next start` processes and a real model.)
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "@/db/test-db";
import { createTestDatabase } from "@/db/test-db";
import { installWorkers } from "../workers/registry";
import { leaderAddress, WorkerRuntime } from "../workers/runtime";
import { answerResponse, fromRequest, serveInference } from "./gateway";

/** The route handler's view: a Web Request in, a Response out. */
const serve = async (db: Parameters<typeof serveInference>[0], req: Request, params: Parameters<typeof serveInference>[2]) => answerResponse(await serveInference(db, fromRequest(req), params));

const onPostgres = process.env.CAIRN_TEST_DB === "postgres";

describe.runIf(onPostgres)("a gateway in a process that does not lead", () => {
  let database: TestDatabase;
  let server: http.Server;
  let leaderUrl = "";
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let leader: WorkerRuntime;
  let follower: WorkerRuntime;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => { body += c.toString(); });
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(200, {
          "content-type": "application/json", "x-cairn-deployment": "11111111-2222-3333-4444-555555555555", "set-cookie": "not=passed",
          "x-cairn-variant": "candidate", "x-cairn-model-version": "2", "x-request-id": String(req.headers["x-request-id"]),
        });
        res.end(JSON.stringify({ answered_by: "leader" }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    leaderUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    leader = new WorkerRuntime({ election: { kind: "postgres", url: database.url!, retryMs: 200, advertise: leaderUrl }, loops: [], log: () => undefined });
    follower = new WorkerRuntime({ election: { kind: "postgres", url: database.url!, retryMs: 200, advertise: "http://127.0.0.1:1" }, loops: [], log: () => undefined });
    await leader.start();
    await follower.start();
    installWorkers(follower);
  });

  afterAll(async () => {
    installWorkers(null);
    await follower?.stop();
    await leader?.stop();
    await new Promise((r) => server?.close(r));
    await database?.close();
  });

  it("finds the leader's address on its lock's session", async () => {
    expect(leader.isLeader()).toBe(true);
    expect(follower.isLeader()).toBe(false);
    expect(await leaderAddress(database.db)).toBe(leaderUrl);
  });

  it("passes the request (path, query, token, body) to the leader once, marked, and answers what it answered", async () => {
    const body = JSON.stringify({ inputs: [[1, 2, 3, 4]] });
    const req = new Request("http://follower.example/serve/churn/churn-classifier/production/invocations?x=1", {
      method: "POST", body, headers: { authorization: "Bearer cairn_abc", "content-type": "application/json", cookie: "next-auth.session-token=secret" },
    });
    const res = await serve(database.db, req, { team: "churn", deployment: "churn-classifier", path: ["production", "invocations"] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ answered_by: "leader" });
    expect(res.headers.get("x-cairn-deployment")).toBe("11111111-2222-3333-4444-555555555555");
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "POST", url: "/serve/churn/churn-classifier/production/invocations?x=1", body });
    expect(seen[0]!.headers).toMatchObject({ authorization: "Bearer cairn_abc", "content-type": "application/json", "x-cairn-forwarded": "1" });
    // Only what the leader needs: no cookie travels.
    expect(seen[0]!.headers.cookie).toBeUndefined();
  });

  it("passes the split key and the request id to the leader, and the variant, version and request id back", async () => {
    const before = seen.splice(0);
    const headers = { authorization: "Bearer cairn_abc", "content-type": "application/json", "x-cairn-split-key": "customer-7", "x-request-id": "req-abc.1" };
    const req = new Request("http://follower.example/serve/churn/churn-classifier/production/invocations", { method: "POST", body: "{}", headers });
    const res = await serve(database.db, req, { team: "churn", deployment: "churn-classifier", path: ["production", "invocations"] });
    expect(seen[0]!.headers).toMatchObject({ "x-cairn-split-key": "customer-7", "x-request-id": "req-abc.1" });
    expect(res.headers.get("x-cairn-variant")).toBe("candidate");
    expect(res.headers.get("x-cairn-model-version")).toBe("2");
    expect(res.headers.get("x-request-id")).toBe("req-abc.1");
    // A request id that is not a plain token is replaced by a new one, before it travels.
    const odd = new Request("http://follower.example/serve/churn/churn-classifier/production/invocations", { method: "POST", body: "{}", headers: { ...headers, "x-request-id": "a b<c>" } });
    const res2 = await serve(database.db, odd, { team: "churn", deployment: "churn-classifier", path: ["production", "invocations"] });
    expect(res2.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1]!.headers["x-request-id"]).toBe(res2.headers.get("x-request-id"));
    seen.splice(0, seen.length, ...before);
  });

  it("a request another process already passed on is not passed again (it is answered here)", async () => {
    const req = new Request("http://follower.example/serve/churn/churn-classifier/production/v2/health/ready", { headers: { "x-cairn-forwarded": "1" } });
    const res = await serve(database.db, req, { team: "churn", deployment: "churn-classifier", path: ["production", "v2", "health", "ready"] });
    // Answered by this process's own gateway: no token, so 401 — and nothing reached the leader.
    expect(res.status).toBe(401);
    expect(seen).toHaveLength(1);
  });

  it("passes on a path rebuilt from the address's own segments: nothing a dot segment or backslash could walk out to", async () => {
    const before = seen.length;
    // As the fast lane hands them over: each segment decoded once (server/deployments/gateway-http.ts).
    const req = new Request("http://follower.example/serve/churn/my%20model/production/invocations?x=1", { method: "POST", body: "{}", headers: { authorization: "Bearer cairn_abc" } });
    const res = await serve(database.db, req, { team: "churn", deployment: "my model", path: ["production", "invocations"] });
    expect(res.status).toBe(200);
    expect(seen[before]!.url).toBe("/serve/churn/my%20model/production/invocations?x=1");
    for (const path of [["..", "..", "api", "v1", "me"], ["x", "..", "..", "api"], ["a/b", "c"], ["a\\b", "c"]]) {
      const probe = new Request("http://follower.example/serve/x/y/z", { headers: { authorization: "Bearer cairn_abc" } });
      const refused = await serve(database.db, probe, { team: "x", deployment: path[0]!, path: path.slice(1) });
      expect(refused.status, path.join("/")).toBe(404);
    }
    expect(seen).toHaveLength(before + 1);
    seen.splice(before);
  });

  it("answers 503 with Retry-After when the leader does not answer", async () => {
    await new Promise((r) => server.close(r));
    const req = new Request("http://follower.example/serve/churn/churn-classifier/production/v2/health/ready", { headers: { authorization: "Bearer cairn_abc" } });
    const res = await serve(database.db, req, { team: "churn", deployment: "churn-classifier", path: ["production", "v2", "health", "ready"] });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect((await res.json()).error).toMatch(/did not answer/);
  });
});
