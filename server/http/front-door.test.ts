// The front door on a real node:http server in front of a stand-in for Next: malformed percent-encoding in the
// path answered 400 in the shape of the API it names (never Next's 500), a malformed query string and every
// well-formed path passed on untouched.
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wellEncodedPath } from "./front-door";
import type { StandIn } from "./next-stand-in";
import { frontDoorBeforeNext } from "./next-stand-in";

let door: StandIn;
let base = "";
let toNext: string[] = [];

beforeAll(async () => {
  door = await frontDoorBeforeNext();
  ({ base, toNext } = door);
});
afterAll(() => door?.close());

describe("wellEncodedPath", () => {
  it("tells malformed percent-encoding in the path from everything else", () => {
    for (const ok of ["/", "/api/v1/models/churn", "/api/v1/models/caf%C3%A9", "/a%2Fb", "/x?name=%E0%A4", "/x?%FF"]) expect(wellEncodedPath(ok), ok).toBe(true);
    for (const bad of ["/api/v1/models/%FF", "/api/v1/models/%E0%A4", "/a/%E0", "/a/%C3%28", "/a/%", "/a/%G1?x=1"]) expect(wellEncodedPath(bad), bad).toBe(false);
  });
});

describe("the front door", () => {
  it("answers a malformed path 400 in the shape of the API it names, and never passes it on", async () => {
    const v1 = await fetch(`${base}/api/v1/models/%FF`);
    expect(v1.status).toBe(400);
    expect(((await v1.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_input", message: expect.stringMatching(/percent-encoding/) });
    const mlflow = await fetch(`${base}/api/2.0/mlflow/registered-models/%E0%A4`, { method: "POST", body: "{}" });
    expect(mlflow.status).toBe(400);
    expect(await mlflow.json()).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
    const serve = await fetch(`${base}/serve/churn/%C3%28/staging/invocations`, { method: "POST", body: "{}" });
    expect(serve.status).toBe(400);
    expect(((await serve.json()) as { error: string }).error).toMatch(/percent-encoding/);
    const page = await fetch(`${base}/experiments/%E0`);
    expect(page.status).toBe(400);
    expect(page.headers.get("content-type")).toMatch(/^text\/plain/);
    const head = await fetch(`${base}/api/v1/jobs/%FF`, { method: "HEAD" });
    expect(head.status).toBe(400);
    expect(toNext).toEqual([]);
  });

  it("answers a target that is not a path 400 and TRACE 405, and refuses upgrades but Next's own", async () => {
    const port = (door.server.address() as AddressInfo).port;
    const raw = (request: string) => new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
      let text = "";
      socket.on("data", (c) => { text += c.toString(); });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      setTimeout(() => { socket.destroy(); resolve(text || "(no answer)"); }, 3000).unref();
    });
    expect(await raw("GET http://evil.example/api/v1/deployments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw("TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 405/);
    expect(await raw("GET /models HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    expect(toNext).toEqual([]);
  });

  it("passes every well-formed path (and a malformed query) on to Next untouched", async () => {
    for (const path of ["/api/v1/models/caf%C3%A9", "/experiments?x=%FF", "/api/health"]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(299);
    }
    expect(toNext).toEqual(["GET /api/v1/models/caf%C3%A9", "GET /experiments?x=%FF", "GET /api/health"]);
  });
});
