// The fast lanes' view of a node:http request: its headers as Next builds them for a route (X-Forwarded-* filled
// in where the client left them out, what the client sent kept), and a value Web Headers refuse named as the
// request's fault rather than thrown as a TypeError.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { BadHeaderValue, webHeaders } from "./node-request";

/** Sends `raw` to a server whose handler reports webHeaders(req) (or what it threw) for the one request. */
async function headersOf(raw: string, insecureHTTPParser = false): Promise<Headers | Error> {
  let seen: Headers | Error = new Error("no request");
  const server = http.createServer({ insecureHTTPParser }, (req, res) => {
    try {
      seen = webHeaders(req);
    } catch (err) {
      seen = err as Error;
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect((server.address() as AddressInfo).port, "127.0.0.1", () => socket.write(raw));
      socket.on("data", () => socket.end());
      socket.on("close", () => resolve());
      socket.on("error", reject);
    });
    return seen;
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

describe("webHeaders", () => {
  it("fills in the X-Forwarded-* headers a client left out, as Next does (host from Host, proto from the socket, for from the peer)", async () => {
    const h = await headersOf("GET /x HTTP/1.1\r\nHost: cairn.example:8080\r\nConnection: close\r\n\r\n");
    if (h instanceof Error) throw h;
    expect(h.get("x-forwarded-host")).toBe("cairn.example:8080");
    expect(h.get("x-forwarded-proto")).toBe("http");
    expect(h.get("x-forwarded-for")).toBe("127.0.0.1");
    expect(h.get("x-forwarded-port")).toMatch(/^\d+$/);
  });

  it("keeps what the client sent, and folds duplicates by Node's rules (the first Authorization wins)", async () => {
    const h = await headersOf(
      "GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: b.example\r\nX-Forwarded-For: 10.0.0.1\r\n"
      + "Authorization: Bearer one\r\nAuthorization: Bearer two\r\nAccept: a\r\nAccept: b\r\nConnection: close\r\n\r\n",
    );
    if (h instanceof Error) throw h;
    expect([h.get("x-forwarded-proto"), h.get("x-forwarded-host"), h.get("x-forwarded-for")]).toEqual(["https", "b.example", "10.0.0.1"]);
    expect(h.get("authorization")).toBe("Bearer one");
    expect(h.get("accept")).toBe("a, b");
  });

  it("names a value Web Headers refuse (only a lenient parser lets one in) as the request's fault", async () => {
    const err = await headersOf("GET /x HTTP/1.1\r\nHost: a\r\nX-A: a\u0000b\r\nConnection: close\r\n\r\n", true);
    expect(err).toBeInstanceOf(BadHeaderValue);
    expect((err as Error).message).toMatch(/^A request header is not valid \(.+\): header values may not hold NUL, CR or LF$/);
  });

  it("leaves out, with skipInvalid, a value Web Headers refuse, Host included, and fills nothing from it", async () => {
    const server = http.createServer({ insecureHTTPParser: true }, (req, res) => {
      const h = webHeaders(req, { skipInvalid: true });
      res.end(JSON.stringify({ host: h.get("host"), forwardedHost: h.get("x-forwarded-host"), a: h.get("x-a"), b: h.get("x-b") }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect((server.address() as AddressInfo).port, "127.0.0.1", () => socket.write("GET /x HTTP/1.1\r\nHost: a\u0000b\r\nX-A: a\u0000b\r\nX-B: fine\r\nConnection: close\r\n\r\n"));
        let text = "";
        socket.on("data", (c) => { text += c.toString(); });
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
      expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toEqual({ host: null, forwardedHost: null, a: null, b: "fine" });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
