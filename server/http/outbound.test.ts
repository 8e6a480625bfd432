// Webhooks a user names are not sent to this server or its private network (SSRF): cloud metadata, loopback
// services (PostgreSQL, Prometheus), the office network — unless an admin allows the host.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isPrivateAddress, postJson, refusePrivateUrl } from "./outbound";

// Read once by env(): a name an admin allowed (the local receiver below stands behind it).
process.env.CAIRN_WEBHOOK_ALLOWED_HOSTS = "allowed.test";

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

  it("sends to the very address it checked: the connection resolves the name once and refuses a private answer", async () => {
    const got: string[] = [];
    const receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => { body += c.toString(); });
      req.on("end", () => { got.push(`${req.headers.host} ${body}`); res.writeHead(204).end(); });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const port = (receiver.address() as AddressInfo).port;
    try {
      // A name that answers a private address (as a rebinding name does on its second answer) is refused by the
      // connection's own lookup: nothing reaches the address.
      let asked = 0;
      const rebinding = async () => { asked++; return [{ address: "127.0.0.1", family: 4 }]; };
      await expect(postJson(`http://rebind.test:${port}/hook`, "{}", { timeoutMs: 2000, resolve: rebinding })).rejects.toThrow(/not sent: rebind\.test resolves to 127\.0\.0\.1/);
      expect(asked).toBe(1);
      await expect(postJson(`http://127.0.0.1:${port}/hook`, "{}", { timeoutMs: 2000 })).rejects.toThrow(/not sent: 127\.0\.0\.1 is an address on this server/);
      await expect(postJson(`ftp://example.com/`, "{}", { timeoutMs: 2000 })).rejects.toThrow(/not sent: ftp: is not http/);
      expect(got).toEqual([]);
      // An allowed host is sent to, at the address its one lookup answered, with the name as Host.
      asked = 0;
      const res = await postJson(`http://allowed.test:${port}/hook`, JSON.stringify({ text: "hi" }), { timeoutMs: 2000, resolve: rebinding });
      expect(res).toEqual({ ok: true, status: 204 });
      expect(asked).toBe(1);
      expect(got).toEqual([`allowed.test:${port} {"text":"hi"}`]);
    } finally {
      receiver.close();
    }
  });
});
