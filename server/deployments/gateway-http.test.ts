// The gateway's fast lane on a real node:http server in front of a stand-in for Next: a model's stable address
// answered by a real replica with the variant, version and request id headers and no database round trip once
// its route is kept; another team's token answered exactly as a missing model; no token 401; bad encoding 400;
// bodies over the limit 413 whether announced or streamed; and everything that is not the gateway's — other
// paths, other methods, odd segments — reaching Next untouched.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { deployModel } from "../approvals/deploy";
import { linearClassifierOnnx } from "../registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "../registry/test-helpers";
import { ctxFor, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { settleDeployments } from "../workers/testing";
import { MAX_INFERENCE_BODY_BYTES } from "./gateway";
import type { StandIn } from "../http/next-stand-in";
import { frontDoorBeforeNext } from "../http/next-stand-in";
import { putFrontDoor } from "../http/front-door";
import { fromIncoming, gatewayParams } from "./gateway-http";
import { routeCache } from "./route-cache";
import { stopAllReplicas } from "./runtime";

const db = demoDatabase({ routeCache: true });
let token = "";
let fraud = "";
let model = "";
let deployment = "";
let door: StandIn;
let base = "";
/** What reached the stand-in for Next. */
let toNext: string[] = [];

const BODY = JSON.stringify({ inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] });

beforeAll(async () => {
  [token, fraud] = await Promise.all([tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  const run = await newRun(token, "lane");
  await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights: [0.5, -1, 2, 0.25], bias: [0.1] })));
  model = unique("lane");
  await createModel(token, model);
  await registerVersion(token, model, run);
  ({ deployment_id: deployment } = await deployModel(await ctxFor(db(), DEMO.mle), model, { version: 1, environment: "staging", traffic: 100, replicas: 1, auto_scale: false }));
  await settleDeployments(db());
  door = await frontDoorBeforeNext();
  ({ base, toNext } = door);
}, 60_000);

afterAll(async () => {
  door?.close();
  await stopAllReplicas();
});

const infer = (t: string | null, init: { path?: string; body?: string; headers?: Record<string, string> } = {}) =>
  fetch(`${base}${init.path ?? `/serve/churn/${model}/staging/v2/models/${model}/infer`}`, {
    method: "POST", body: init.body ?? BODY, headers: { "content-type": "application/json", ...(t ? { authorization: `Bearer ${t}` } : {}), ...init.headers },
  });

describe("gatewayParams", () => {
  it("takes /serve/<team>/<deployment>/<path…> with each segment decoded once, and nothing that could walk out of it", () => {
    expect(gatewayParams("/serve/churn/m/staging/invocations?x=1")).toEqual({ team: "churn", deployment: "m", path: ["staging", "invocations"] });
    expect(gatewayParams("/serve/ch%75rn/my%20model/v2/health/ready")).toEqual({ team: "churn", deployment: "my model", path: ["v2", "health", "ready"] });
    expect(gatewayParams("/serve/churn/churn%252Dx/staging/invocations")).toEqual({ team: "churn", deployment: "churn%2Dx", path: ["staging", "invocations"] });
    expect(gatewayParams("/serve/churn/%FF/staging/invocations")).toBe("malformed");
    for (const other of [
      "/serve/churn/m", "/serve/churn//staging", "/serve/churn/m/staging/", "/serve/churn/../m/x", "/serve/churn/./m/x",
      "/serve/x/%2e%2e/%2e%2e/api/v1/me", "/serve/x/%2E%2e/y/z", "/serve/x/y\\..\\..\\api/v1/me", "/serve/x/a%2Fb/c", "/serve/x/a%5Cb/c",
      "/served/churn/m/x", "/api/serve/a/b/c", "/",
    ]) {
      expect(gatewayParams(other), other).toBeNull();
    }
  });
});

describe("the fast lane", () => {
  it("answers the stable address from the replica, naming who answered, without reading the database again", async () => {
    const first = await infer(token);
    expect(first.status, await first.clone().text()).toBe(200);
    const misses = routeCache(db()).stats.misses;
    for (let i = 0; i < 20; i++) {
      const res = await infer(token, { headers: { "x-request-id": `lane-${i}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-cairn-deployment")).toBe(deployment);
      expect(res.headers.get("x-cairn-variant")).toBe("baseline");
      expect(res.headers.get("x-cairn-model-version")).toBe("1");
      expect(res.headers.get("x-request-id")).toBe(`lane-${i}`);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data).toHaveLength(2);
    }
    expect(routeCache(db()).stats.misses).toBe(misses);
    // The pinned address too, and a GET (metadata).
    const pinned = await fetch(`${base}/serve/churn/${deployment}/v2/models/${model}`, { headers: { authorization: `Bearer ${token}` } });
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get("x-cairn-variant")).toBe("pinned");
    expect(toNext).toEqual([]);
  });

  it("answers another team's token exactly as for a model that does not exist, and no token 401", async () => {
    const foreign = await infer(fraud);
    const missing = await infer(fraud, { path: `/serve/churn/no-such-${model}/staging/v2/models/x/infer` });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toEqual({ error: `Model "${model}" was not found in team churn.` });
    expect(missing.status).toBe(404);
    expect(foreign.headers.get("x-cairn-deployment")).toBeNull();
    // Another team's address is answered before any lookup (nothing to time), and a made-up name is never kept.
    const stats = routeCache(db()).stats;
    const misses = stats.misses;
    for (let i = 0; i < 5; i++) expect((await infer(fraud, { path: `/serve/churn/probe-${i}/staging/invocations` })).status).toBe(404);
    expect(stats.misses).toBe(misses);
    for (let i = 0; i < 2; i++) expect((await infer(token, { path: `/serve/churn/made-up-${model}/staging/invocations` })).status).toBe(404);
    expect(stats.misses).toBe(misses + 2);
    // Another team's deployment id under one's own team is looked up in that team only: a miss, never kept, as for a random id.
    const ownTeam = (id: string) => fetch(`${base}/serve/fraud/${id}/v2/health/ready`, { headers: { authorization: `Bearer ${fraud}` } });
    const before = stats.misses;
    const real = [await ownTeam(deployment), await ownTeam(deployment)];
    const random = await ownTeam("0b5e0000-0000-4000-8000-000000000000");
    for (const r of real) expect(r.status).toBe(404);
    expect(await real[0]!.json()).toEqual({ error: `Deployment ${deployment} was not found in team fraud.` });
    expect(random.status).toBe(404);
    expect(stats.misses - before).toBe(3);
    const anonymous = await infer(null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("answers bad percent-encoding 400 and bodies over the limit 413, announced or streamed", async () => {
    const bad = await infer(token, { path: `/serve/churn/${model}/staging/v2/models/%FF/infer` });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/percent-encoding/);
    const announced = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/serve/churn/${model}/staging/invocations`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-length": String(MAX_INFERENCE_BODY_BYTES + 1) } }, (res) => { res.resume(); resolve(res.statusCode!); });
      req.on("error", reject);
      req.write("x");
    });
    expect(announced).toBe(413);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/serve/churn/${model}/staging/invocations`, { method: "POST", headers: { authorization: `Bearer ${token}`, "transfer-encoding": "chunked" } }, (res) => { res.resume(); resolve(res.statusCode!); });
      req.on("error", () => undefined);
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const more = () => {
        while (sent <= MAX_INFERENCE_BODY_BYTES) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", more);
        }
        req.end();
      };
      more();
      setTimeout(() => reject(new Error("no answer to a streamed oversized body")), 20_000).unref();
    });
    expect(streamed).toBe(413);
  });

  it("serves and audits a request holding a header value Web Headers refuse (only a lenient HTTP parser lets one in), leaving that header out", async () => {
    const lenient = http.createServer({ insecureHTTPParser: true }, (_req, res) => res.writeHead(299).end("next"));
    putFrontDoor(lenient);
    await new Promise<void>((resolve) => lenient.listen(0, "127.0.0.1", resolve));
    try {
      const port = (lenient.address() as AddressInfo).port;
      // Another team's token: answered as a missing model, and the refusal audited after the answer, which reads all
      // the request's headers (before, that read threw and the audit row was lost).
      const target = `/serve/churn/${model}/staging/v2/models/${model}/infer`;
      const stranger = await tokenFor(db(), DEMO.dsFraud, "fraud");
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1", () => socket.write(
          `POST ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stranger}\r\nX-A: a\u0000b\r\nUser-Agent: lenient-probe\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`,
        ));
        let text = "";
        socket.on("data", (c) => { text += c.toString(); });
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 404/);
      await expect.poll(async () => {
        const rows = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "deployment.infer"), eq(auditEvents.outcome, "denied")));
        return rows.some((r) => r.userAgent === "lenient-probe");
      }, { timeout: 5000 }).toBe(true);
      const after = await fetch(`http://127.0.0.1:${port}/serve/churn/${model}/staging/v2/models/${model}/infer`, { method: "POST", body: BODY, headers: { authorization: `Bearer ${token}` } });
      expect(after.status).toBe(200);
    } finally {
      lenient.closeAllConnections();
      lenient.close();
    }
  });

  it("passes everything that is not the gateway's on to Next untouched", async () => {
    toNext.length = 0;
    const put = await fetch(`${base}/serve/churn/${model}/staging/invocations`, { method: "PUT", body: "{}" });
    const page = await fetch(`${base}/experiments?x=1`);
    const short = await fetch(`${base}/serve/churn/${model}`);
    const dotted = await fetch(`${base}/serve/churn/${model}/staging/`);
    for (const res of [put, page, short, dotted]) expect(res.status).toBe(299);
    expect(toNext).toEqual([`PUT /serve/churn/${model}/staging/invocations`, "GET /experiments?x=1", `GET /serve/churn/${model}`, `GET /serve/churn/${model}/staging/`]);
  });
});

describe("fromIncoming", () => {
  it("rejects (never hangs) a body read after the client went away", async () => {
    let outcome: Promise<string> = Promise.resolve("not read");
    const probe = http.createServer((req) => {
      // The read starts only once the client has gone, as when a lookup ran before it.
      req.socket.once("close", () => {
        outcome = fromIncoming(req).readBody(1024).then(() => "resolved", (err: Error) => `rejected: ${err.message}`);
      });
    });
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    try {
      const req = http.request({ host: "127.0.0.1", port: (probe.address() as AddressInfo).port, method: "POST", path: "/serve/a/b/c", headers: { "content-length": "100000" } });
      req.on("error", () => undefined);
      req.write(Buffer.alloc(5000));
      await new Promise((r) => setTimeout(r, 100));
      req.destroy();
      await new Promise((r) => setTimeout(r, 200));
      expect(await Promise.race([outcome, new Promise((r) => setTimeout(() => r("pending"), 2000))])).toMatch(/^rejected: the client closed/);
    } finally {
      probe.closeAllConnections();
      probe.close();
    }
  });


  it("reads headers and the body, and stops keeping a body at its limit", async () => {
    const seen: unknown[] = [];
    const probe = http.createServer((req, res) => {
      const r = fromIncoming(req);
      void r.readBody(8).then((body) => {
        seen.push({ method: r.method, target: r.target, key: r.header("x-cairn-split-key"), multi: r.headers().get("x-multi"), body: body === null ? null : Buffer.from(body).toString() });
        res.end();
      });
    });
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/serve/a/b/c?q=1`;
    try {
      await fetch(url, { method: "POST", body: "12345678", headers: { "x-cairn-split-key": "k-1", "x-multi": "one" } });
      await fetch(url, { method: "POST", body: "123456789" });
      expect(seen).toEqual([
        { method: "POST", target: "/serve/a/b/c?q=1", key: "k-1", multi: "one", body: "12345678" },
        { method: "POST", target: "/serve/a/b/c?q=1", key: null, multi: null, body: null },
      ]);
    } finally {
      probe.closeAllConnections();
      probe.close();
    }
  });

  it("takes a body that arrived whole before the read from the stream's buffer, with the same limit, and the connection serves on", async () => {
    const seen: unknown[] = [];
    const probe = http.createServer((req, res) => {
      // As in the gateway: the body is read after the token and route lookups, when a small body has long arrived.
      setTimeout(() => {
        const complete = req.complete;
        void fromIncoming(req).readBody(8).then((body) => {
          seen.push({ complete, body: body === null ? null : Buffer.from(body).toString() });
          res.end("ok");
        });
      }, 20);
    });
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let sockets = 0;
    probe.on("connection", () => sockets++);
    const post = (body: string) => new Promise<string>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: (probe.address() as AddressInfo).port, method: "POST", path: "/serve/a/b/c", agent, headers: { "content-length": String(Buffer.byteLength(body)) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks).toString()));
      });
      req.on("error", reject);
      req.end(body);
    });
    try {
      for (const body of ["12345678", "123456789", "", "abc"]) expect(await post(body)).toBe("ok");
      expect(seen).toEqual([
        { complete: true, body: "12345678" },
        { complete: true, body: null },
        { complete: true, body: "" },
        { complete: true, body: "abc" },
      ]);
      expect(sockets).toBe(1);
    } finally {
      agent.destroy();
      probe.closeAllConnections();
      probe.close();
    }
  });
});
