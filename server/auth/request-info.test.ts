// Forwarded headers are believed only from a proxy listed in CAIRN_TRUSTED_PROXIES; the direct peer's
// address comes from the socket (stamped by the peer hook), never from a header the client can write.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { forwardedRequest, installPeerAddressHook, normalizeIp, parseTrustedProxies, PEER_HEADER, stampedPeer } from "./request-info";

installPeerAddressHook();
const NONE = parseTrustedProxies("");
const PROXIES = parseTrustedProxies("10.0.0.1, 10.1.0.0/16, fd00::/8");

const h = (headers: Record<string, string>) => new Headers(headers);

describe("client address and host", () => {
  it("without trusted proxies ignores X-Forwarded-For/-Host/-Proto: the peer's address and the Host header count", () => {
    const forged = h({ [PEER_HEADER]: stampedPeer("203.0.113.9"), host: "cairn.example", "x-forwarded-for": "1.2.3.4", "x-forwarded-host": "evil.example", "x-forwarded-proto": "http", "x-real-ip": "5.6.7.8" });
    expect(forwardedRequest(forged, NONE)).toEqual({ ip: "203.0.113.9", host: "cairn.example" });
    // A client that is not a listed proxy gains nothing by sending them either.
    expect(forwardedRequest(forged, PROXIES)).toEqual({ ip: "203.0.113.9", host: "cairn.example" });
  });

  it("a peer header without this process's stamp (sent before the hook was installed, or by the client) names no one", () => {
    expect(forwardedRequest(h({ [PEER_HEADER]: "192.0.2.77", host: "cairn.example" }), NONE).ip).toBeUndefined();
    expect(forwardedRequest(h({ [PEER_HEADER]: "0123 192.0.2.77", host: "cairn.example" }), NONE).ip).toBeUndefined();
  });

  it("behind a listed proxy reads X-Forwarded-For from the right, skipping trusted hops, and the forwarded host and scheme", () => {
    const viaProxy = h({ [PEER_HEADER]: stampedPeer("::ffff:10.0.0.1"), host: "10.0.0.5:3000", "x-forwarded-for": "1.2.3.4, 198.51.100.7, 10.1.2.3", "x-forwarded-host": "cairn.example", "x-forwarded-proto": "https" });
    // 1.2.3.4 was written by the client itself; 198.51.100.7 is who connected to our outer proxy.
    expect(forwardedRequest(viaProxy, PROXIES)).toEqual({ ip: "198.51.100.7", host: "cairn.example", proto: "https" });
    expect(forwardedRequest(h({ [PEER_HEADER]: stampedPeer("fd00::2"), "x-forwarded-for": "2001:db8::1" }), PROXIES).ip).toBe("2001:db8::1");
    // Only proxies in the chain: the leftmost is the client as far as anyone can tell.
    expect(forwardedRequest(h({ [PEER_HEADER]: stampedPeer("10.0.0.1"), "x-forwarded-for": "10.1.0.9" }), PROXIES).ip).toBe("10.1.0.9");
    // Garbage stops the walk at the last trusted hop.
    expect(forwardedRequest(h({ [PEER_HEADER]: stampedPeer("10.0.0.1"), "x-forwarded-for": "not-an-ip" }), PROXIES).ip).toBe("10.0.0.1");
  });

  it("parses and validates the setting", () => {
    expect(normalizeIp("[::1]:8080")).toBe("::1");
    expect(normalizeIp("192.0.2.1:443")).toBe("192.0.2.1");
    expect(normalizeIp("nope")).toBeUndefined();
    for (const bad of ["10.0.0.0/33", "example.com", "10.0.0.1/8/1", "fd00::/129"]) expect(() => parseTrustedProxies(bad), bad).toThrow(/not an IP address or CIDR/);
  });

  it("the peer hook stamps the socket's address over whatever the client sent", async () => {
    const server = http.createServer((req, res) => res.end(JSON.stringify(forwardedRequest(req.headers as Record<string, string>, NONE))));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { [PEER_HEADER]: stampedPeer("6.6.6.6"), "x-forwarded-for": "6.6.6.6", "x-forwarded-host": "evil.example" } });
      expect(await res.json()).toEqual({ ip: "127.0.0.1", host: `127.0.0.1:${port}` });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
