import { describe, expect, it } from "vitest";
import { installPeerAddressHook, PEER_HEADER, stampedPeer } from "./request-info";
import { originOf } from "./site-origin";

process.env.CAIRN_TRUSTED_PROXIES = "10.0.0.1";
installPeerAddressHook();

describe("originOf", () => {
  it("is the request's host over http, or what a trusted proxy reports", () => {
    expect(originOf(new Headers({ host: "cairn.local:3000" }))).toBe("http://cairn.local:3000");
    expect(originOf(new Headers({ host: "10.0.0.5:3000", [PEER_HEADER]: stampedPeer("10.0.0.1"), "x-forwarded-host": "ml.example.com", "x-forwarded-proto": "https" }))).toBe("https://ml.example.com");
  });

  it("ignores forwarded headers from anyone else, and a host that is not a host", () => {
    expect(originOf(new Headers({ host: "cairn.local", [PEER_HEADER]: stampedPeer("198.51.100.2"), "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" }))).toBe("http://cairn.local");
    expect(originOf(new Headers({ host: "a b<script>" }))).toBe("http://localhost:3000");
  });
});
