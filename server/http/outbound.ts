// Where the server may send a request a user named (alert and budget webhooks): not to this host or its private
// network — loopback, link-local (cloud metadata at 169.254.169.254), private and unique-local ranges, CGNAT,
// unspecified — unless an admin lists the host in CAIRN_WEBHOOK_ALLOWED_HOSTS (a Slack-compatible relay inside the
// network, a test receiver). Checked when a URL is stored (literal addresses, localhost) and again by each send
// (postJson) on the very addresses it connects to: the name is resolved once, inside the connection, so a name
// that answers a public address to a check and a private one to the connection (DNS rebinding) gets nowhere.
import type dns from "node:dns";
import { lookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { env } from "../env";
import { AppError } from "../errors";

function v4Private(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number) as [number, number];
  return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
}

/** Whether `ip` is this host, its link or a private network (IPv4, IPv6, IPv4-mapped IPv6). */
export function isPrivateAddress(ip: string): boolean {
  if (net.isIPv4(ip)) return v4Private(ip);
  if (!net.isIPv6(ip)) return true;
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return v4Private(mapped[1]!);
  return lower === "::" || lower === "::1" || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower) || /^ff/.test(lower);
}

function allowed(host: string): boolean {
  return env().webhookAllowedHosts.includes(host.toLowerCase());
}

function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
}

/** At save time: refuses a URL naming this host or a private address outright (names are resolved at send). */
export function refusePrivateUrl(url: string, field: string): void {
  const host = hostOf(url);
  if (allowed(host)) return;
  if (host === "localhost" || host.endsWith(".localhost") || (net.isIP(host) && isPrivateAddress(host))) {
    throw new AppError("invalid_input", `${url} points at this server or its private network, where Cairn does not send webhooks; use a public address (an admin may allow an internal host with CAIRN_WEBHOOK_ALLOWED_HOSTS).`, { fields: { [field]: ["a public http(s) address"] } });
  }
}

type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;
const systemResolve: Resolve = (host) => lookup(host, { all: true });

/**
 * POSTs a JSON body to a user-named webhook and answers its status; never follows redirects. The connection's own
 * name lookup refuses private addresses (unless the host is allowed), so what was checked is what is connected to.
 * Throws "not sent: …" for a refused or unresolvable address, and on timeouts and connection errors.
 */
export async function postJson(url: string, body: string, opts: { timeoutMs: number; headers?: Record<string, string>; resolve?: Resolve }): Promise<{ ok: boolean; status: number }> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new Error(`not sent: ${target.protocol} is not http(s)`);
  const host = hostOf(url);
  const pass = allowed(host);
  const resolve = opts.resolve ?? systemResolve;
  let refusal: string | null = null;
  const guardedLookup = (hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    resolve(hostname).then((found) => {
      const inside = pass ? undefined : found.find((a) => isPrivateAddress(a.address));
      if (inside) {
        refusal = `${host} resolves to ${inside.address}, an address on this server or its private network (allow it with CAIRN_WEBHOOK_ALLOWED_HOSTS)`;
        return callback(Object.assign(new Error(refusal), { code: "EREFUSED" }), "", 4);
      }
      if (found.length === 0) return callback(Object.assign(new Error(`${host} does not resolve`), { code: "ENOTFOUND" }), "", 4);
      if (options.all) return callback(null, found.map((a) => ({ address: a.address, family: a.family })));
      return callback(null, found[0]!.address, found[0]!.family);
    }, (err: NodeJS.ErrnoException) => {
      refusal = `${host} does not resolve`;
      callback(err, "", 4);
    });
  };
  // A literal address is never looked up by Node: check it here.
  if (net.isIP(host) && !pass && isPrivateAddress(host)) throw new Error(`not sent: ${host} is an address on this server or its private network (allow it with CAIRN_WEBHOOK_ALLOWED_HOSTS)`);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolvePromise, reject) => {
    const req = client.request(target, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...opts.headers },
      lookup: guardedLookup as never,
      timeout: opts.timeoutMs,
    }, (res) => {
      res.resume();
      res.on("end", () => resolvePromise({ ok: (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300, status: res.statusCode ?? 0 }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`the webhook did not answer within ${opts.timeoutMs} ms`)));
    req.on("error", (err) => reject(refusal ? new Error(`not sent: ${refusal}`) : err));
    req.end(body);
  });
}
