// Where the server may send a request a user named (alert and budget webhooks): not to this host or its private
// network — loopback, link-local (cloud metadata at 169.254.169.254), private and unique-local ranges, CGNAT,
// unspecified — unless an admin lists the host in CAIRN_WEBHOOK_ALLOWED_HOSTS (a Slack-compatible relay inside the
// network, a test receiver). Checked when a URL is stored (literal addresses, localhost) and again before each
// send, on every address the name resolves to then.
import { lookup } from "node:dns/promises";
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

/** Before a send: the reason the URL may not be called now (its name resolves to a private address), or null. */
export async function outboundRefusal(url: string): Promise<string | null> {
  const host = hostOf(url);
  if (allowed(host)) return null;
  let addresses: string[];
  try {
    addresses = net.isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return `${host} does not resolve`;
  }
  const inside = addresses.find(isPrivateAddress);
  return inside ? `${host} resolves to ${inside}, an address on this server or its private network (allow it with CAIRN_WEBHOOK_ALLOWED_HOSTS)` : null;
}
