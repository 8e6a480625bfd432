// The gateway's replica client against real servers on loopback: node:http ones (as the model server is) and raw
// TCP ones that answer what a broken or hostile replica could.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { callReplica, closeReplicaConnections, replicaConnections } from "./replica-client";

const servers: net.Server[] = [];

afterEach(async () => {
  closeReplicaConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => {
    (s as http.Server).closeAllConnections?.();
    s.close(() => resolve());
  })));
});

async function listen<S extends net.Server>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return (server.address() as AddressInfo).port;
}

/** An HTTP server that answers with the request it got: method, path, headers and body length, plus the body. */
async function echoServer(opts: { keepAliveTimeout?: number } = {}): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const head = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, length: body.length });
      const out = Buffer.concat([Buffer.from(`${head}\n`), body]);
      res.writeHead(req.url === "/teapot" ? 418 : 200, { "content-type": "application/x-echo", "content-length": out.length });
      res.end(out);
    });
  });
  server.on("connection", () => connections++);
  if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
  return { port: await listen(server), connections: () => connections };
}

const parse = (body: Buffer) => {
  const nl = body.indexOf(10);
  return { head: JSON.parse(body.subarray(0, nl).toString()) as { method: string; url: string; headers: Record<string, string>; length: number }, body: body.subarray(nl + 1) };
};

/** A raw TCP server: `onRequest` gets each connection's socket once a request's head (and small body) has arrived. */
async function rawServer(onRequest: (socket: net.Socket, request: string) => void): Promise<number> {
  const server = net.createServer((socket) => {
    let seen = "";
    socket.on("data", (d) => {
      seen += d.toString("latin1");
      if (seen.includes("\r\n\r\n")) {
        const request = seen;
        seen = "";
        onRequest(socket, request);
      }
    });
    socket.on("error", () => undefined);
  });
  return listen(server);
}

const call = (port: number, over: Partial<Parameters<typeof callReplica>[1]> = {}) =>
  callReplica(port, { method: "POST", path: "/invocations", headers: { "x-cairn-replica-secret": "s3cret", "content-type": "application/json" }, body: Buffer.from('{"inputs": [[1, 2]]}'), timeoutMs: 30_000, ...over });

describe("callReplica", () => {
  it("sends the method, path, headers and body, answers status, content type and body, and keeps one connection for calls in turn", async () => {
    const { port, connections } = await echoServer();
    for (let i = 0; i < 3; i++) {
      const answer = await call(port);
      expect(answer.status).toBe(200);
      expect(answer.contentType).toBe("application/x-echo");
      const { head, body } = parse(answer.body);
      expect(head).toMatchObject({ method: "POST", url: "/invocations", length: 20 });
      expect(head.headers).toMatchObject({ host: `127.0.0.1:${port}`, "x-cairn-replica-secret": "s3cret", "content-type": "application/json", "content-length": "20" });
      expect(body.toString()).toBe('{"inputs": [[1, 2]]}');
    }
    expect(connections()).toBe(1);
    expect(replicaConnections(port)).toEqual({ idle: 1, busy: 0 });
    // A replica's own error status is an answer like any other.
    expect((await call(port, { path: "/teapot" })).status).toBe(418);
    // GET without a body sends no length.
    const get = parse((await call(port, { method: "GET", path: "/v2/health/ready", body: null })).body);
    expect(get.head).toMatchObject({ method: "GET", url: "/v2/health/ready", length: 0 });
    expect(get.head.headers["content-length"]).toBeUndefined();
  });

  it("runs concurrent calls on connections of their own, each getting its own answer", async () => {
    const { port, connections } = await echoServer();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(port, { body: Buffer.from(`request ${i}`) })));
    answers.forEach((a, i) => expect(parse(a.body).body.toString()).toBe(`request ${i}`));
    expect(connections()).toBe(20);
    expect(replicaConnections(port)).toEqual({ idle: 20, busy: 0 });
  });

  it("carries a large body both ways intact (a request in two writes, an answer in many chunks)", async () => {
    const { port } = await echoServer();
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const answer = await call(port, { body: big });
    const { head, body } = parse(answer.body);
    expect(head.length).toBe(big.length);
    expect(body.equals(big)).toBe(true);
  });

  it("opens a new connection once the replica closed an idle one", async () => {
    let opened = 0;
    const port = await rawServer((socket) => {
      opened++;
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
      setTimeout(() => socket.end(), 50);
    });
    expect((await call(port)).status).toBe(200);
    expect(replicaConnections(port)).toEqual({ idle: 1, busy: 0 });
    await new Promise((r) => setTimeout(r, 200));
    expect(replicaConnections(port)).toEqual({ idle: 0, busy: 0 });
    expect((await call(port)).status).toBe(200);
    expect(opened).toBe(2);
  });

  it("does not keep a connection longer than the replica's Keep-Alive timeout allows", async () => {
    // Node announces keepAliveTimeout in whole seconds: 50 ms is "timeout=0", nothing to keep.
    const { port, connections } = await echoServer({ keepAliveTimeout: 50 });
    expect((await call(port)).status).toBe(200);
    expect(replicaConnections(port)).toEqual({ idle: 0, busy: 0 });
    expect((await call(port)).status).toBe(200);
    expect(connections()).toBe(2);
  });

  it("does not keep a connection the replica answered with Connection: close", async () => {
    const port = await rawServer((socket) => {
      socket.end("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
    });
    const answer = await call(port);
    expect(answer).toMatchObject({ status: 200, contentType: "application/json" });
    expect(answer.body.toString()).toBe("{}");
    expect(replicaConnections(port).idle).toBe(0);
  });

  it("reads an answer whose head and body arrive in pieces, and a 204 without a length", async () => {
    const port = await rawServer((socket, request) => {
      if (request.includes("/empty")) {
        socket.write("HTTP/1.1 204 No Content\r\n\r\n");
        return;
      }
      const parts = ["HTTP/1.1 2", "00 OK\r\nconTent-TYPE:  application/json \r\ncontent-length: 11\r", "\n\r\n{\"a\":", "[1,2]}"];
      parts.forEach((p, i) => setTimeout(() => socket.write(p), i * 20));
    });
    const answer = await call(port);
    expect(answer).toMatchObject({ status: 200, contentType: "application/json" });
    expect(answer.body.toString()).toBe('{"a":[1,2]}');
    const empty = await call(port, { path: "/empty" });
    expect(empty.status).toBe(204);
    expect(empty.body.byteLength).toBe(0);
    // Both on the one connection.
    expect(replicaConnections(port)).toEqual({ idle: 1, busy: 0 });
  });

  it("refuses answers it cannot frame or trust, closing their connection", async () => {
    const answers: Record<string, string> = {
      "/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      "/no-length": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}",
      "/two-lengths": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
      "/bad-length": "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n{}",
      "/not-http": "SSH-2.0-OpenSSH_9.6\r\n\r\n",
      "/continue": "HTTP/1.1 100 Continue\r\n\r\n",
      "/bad-header": "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}",
      "/too-much": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}{}",
    };
    const port = await rawServer((socket, request) => {
      const path = request.split(" ")[1]!;
      socket.write(answers[path]!);
    });
    for (const path of Object.keys(answers)) {
      await expect(call(port, { path }), path).rejects.toThrow(/replica/);
      expect(replicaConnections(port), path).toEqual({ idle: 0, busy: 0 });
    }
  });

  it("refuses an answer head larger than 64 KiB", async () => {
    const port = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nx-filler: ${"a".repeat(70 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`));
    await expect(call(port)).rejects.toThrow(/head is too large/);
  });

  it("drops a kept connection on which the replica sends bytes nobody asked for", async () => {
    let sockets: net.Socket[] = [];
    const port = await rawServer((socket) => {
      sockets.push(socket);
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    });
    expect((await call(port)).status).toBe(200);
    expect(replicaConnections(port).idle).toBe(1);
    sockets[0]!.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    await new Promise((r) => setTimeout(r, 100));
    expect(replicaConnections(port).idle).toBe(0);
    sockets = [];
    expect((await call(port)).status).toBe(200);
  });

  it("fails a call whose connection closes before the answer is complete", async () => {
    const port = await rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":");
      setTimeout(() => socket.destroy(), 20);
    });
    await expect(call(port)).rejects.toThrow(/socket hang up/);
    expect(replicaConnections(port)).toEqual({ idle: 0, busy: 0 });
  });

  it("fails a call with no answer within its timeout and closes its connection", async () => {
    let closed = false;
    const port = await rawServer((socket) => socket.on("close", () => { closed = true; }));
    const started = performance.now();
    await expect(call(port, { timeoutMs: 300 })).rejects.toThrow("no answer within 0.3 s");
    expect(performance.now() - started).toBeLessThan(2_500);
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
  });

  it("fails when the replica cannot be reached", async () => {
    const port = await listen(net.createServer());
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
    await expect(call(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("refuses, before connecting, a header, method or path that HTTP does not allow", async () => {
    const { port, connections } = await echoServer();
    await expect(call(port, { headers: { "content-type": "application/json\r\nx-injected: 1" } })).rejects.toThrow(/Invalid character in header content/);
    await expect(call(port, { headers: { "bad name": "1" } })).rejects.toThrow(/Header name must be a valid HTTP token/);
    await expect(call(port, { path: "/invocations HTTP/1.1\r\nx: 1" })).rejects.toThrow(/unescaped characters/);
    await expect(call(port, { path: "invocations" })).rejects.toThrow(/unescaped characters/);
    await expect(call(port, { method: "PO ST" })).rejects.toThrow(/Method must be a valid HTTP token/);
    expect(connections()).toBe(0);
  });
});
