// Webhooks a user names are not sent to this server or its private network (SSRF): cloud metadata, loopback
// services (PostgreSQL, Prometheus), the office network — unless an admin allows the host.
import { afterEach, describe, expect, it, vi } from "vitest";
import { isPrivateAddress, outboundRefusal, refusePrivateUrl } from "./outbound";

afterEach(() => vi.unstubAllEnvs());

describe("outbound webhook addresses", () => {
  it("knows this host's, link-local, private, CGNAT and unique-local addresses from public ones", () => {
    for (const ip of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1"]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ["8.8.8.8", "172.32.0.1", "192.169.0.1", "2606:4700::1111", "::ffff:1.1.1.1"]) expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it("refuses such a URL when it is stored, with the field and what to do", () => {
    for (const url of ["http://127.0.0.1:5432/", "http://169.254.169.254/latest/meta-data/", "http://localhost:9090/-/reload", "http://[::1]/", "https://10.0.0.5/hook"]) {
      expect(() => refusePrivateUrl(url, "webhook_urls"), url).toThrow(/private network.*CAIRN_WEBHOOK_ALLOWED_HOSTS/);
    }
    expect(() => refusePrivateUrl("https://hooks.slack.com/services/T/B/X", "webhook_urls")).not.toThrow();
  });

  it("checks again before each send, on what the name resolves to then", async () => {
    expect(await outboundRefusal("http://localhost:1/")).toMatch(/resolves to (127\.0\.0\.1|::1)/);
    expect(await outboundRefusal("http://169.254.169.254/")).toMatch(/169\.254\.169\.254/);
    expect(await outboundRefusal("http://no-such-host.invalid/")).toMatch(/does not resolve/);
  });
});
