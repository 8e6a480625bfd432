// Who is on the other end of a request: the client's address, and the host and scheme it asked for.
// X-Forwarded-For / -Host / -Proto are believed only when the direct peer is a proxy listed in
// CAIRN_TRUSTED_PROXIES; otherwise any client could forge them (dodge the sign-in backoff, write
// another address into the audit trail, or pass the Origin check with a host of its choosing).
//
// Next.js does not expose the socket's address to route handlers or server actions (it copies it into
// X-Forwarded-For only when the client sent none), so the server stamps it into PEER_HEADER itself:
// installPeerAddressHook() (called from instrumentation.ts) subscribes to Node's
// `http.server.request.start` diagnostics channel and overwrites that header with
// `socket.remoteAddress` before Next sees the request. Without the hook the peer is unknown and no
// forwarded header is believed.
import { randomBytes } from "node:crypto";
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { BlockList, isIP } from "node:net";
import { env } from "../env";

type HeaderBag = Record<string, string | string[] | undefined> | Headers | undefined | null;

export const PEER_HEADER = "x-cairn-peer";
const HOOK = Symbol.for("cairn.peerAddressHook");
const STAMP = Symbol.for("cairn.peerAddressStamp");
const globals = globalThis as unknown as Record<symbol, boolean | string | undefined>;
/**
 * A secret of this process that prefixes every stamped address: a request that reached Next before the hook
 * was installed (the server listens before instrumentation runs) keeps the client's own header, which
 * cannot carry it, so its peer is unknown rather than forged.
 */
function stamp(): string {
  return (globals[STAMP] ??= randomBytes(16).toString("hex")) as string;
}

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  const v = headers instanceof Headers ? headers.get(name) : headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? undefined;
}

/** The header value the hook writes for `address` (tests stand in for the hook with it). */
export function stampedPeer(address: string): string {
  return `${stamp()} ${address}`;
}

/** Stamps every incoming request with its socket's address (replacing whatever the client sent). Idempotent. */
export function installPeerAddressHook(): void {
  if (globals[HOOK]) return;
  subscribe("http.server.request.start", (message) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    delete request.headers[PEER_HEADER];
    const address = socket.remoteAddress;
    if (address) request.headers[PEER_HEADER] = `${stamp()} ${address}`;
  });
  globals[HOOK] = true;
}

/** "::ffff:10.0.0.1" → "10.0.0.1"; "[::1]:80" and "10.0.0.1:80" → the address; undefined when not an IP. */
export function normalizeIp(raw: string | undefined): string | undefined {
  let v = raw?.trim();
  if (!v) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracketed) v = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(":"));
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(v);
  if (mapped) v = mapped[1]!;
  return isIP(v) ? v.toLowerCase() : undefined;
}

/** Parses "10.0.0.1, 10.1.0.0/16, fd00::/8" into a BlockList; throws on an entry that is neither. */
export function parseTrustedProxies(list: string): BlockList {
  const blocks = new BlockList();
  for (const entry of list.split(",").map((e) => e.trim()).filter(Boolean)) {
    const [address, prefix, ...rest] = entry.split("/");
    const ip = normalizeIp(address);
    const type = ip && isIP(ip) === 6 ? "ipv6" : "ipv4";
    const bits = prefix === undefined ? undefined : Number(prefix);
    if (!ip || rest.length > 0 || (bits !== undefined && (!/^\d+$/.test(prefix!) || bits > (type === "ipv6" ? 128 : 32)))) {
      throw new Error(`"${entry}" is not an IP address or CIDR range`);
    }
    if (bits === undefined) blocks.addAddress(ip, type);
    else blocks.addSubnet(ip, bits, type);
  }
  return blocks;
}

let cached: { list: string; blocks: BlockList } | undefined;
function trustedProxies(): BlockList {
  const list = env().trustedProxies;
  if (cached?.list !== list) cached = { list, blocks: parseTrustedProxies(list) };
  return cached.blocks;
}

function isTrusted(blocks: BlockList, ip: string): boolean {
  return blocks.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4");
}

/** The direct peer's address as the server stamped it, or undefined when the hook is not installed. */
export function peerAddress(headers: HeaderBag): string | undefined {
  if (!globals[HOOK]) return undefined;
  const value = headerValue(headers, PEER_HEADER);
  const prefix = `${stamp()} `;
  return value?.startsWith(prefix) ? normalizeIp(value.slice(prefix.length)) : undefined;
}

export type ForwardedRequest = { ip?: string; host?: string; proto?: "http" | "https" };

const first = (v: string | undefined) => v?.split(",")[0]?.trim() || undefined;

/**
 * The client's address, host and scheme. Behind a trusted proxy: X-Forwarded-For read from the right,
 * skipping trusted proxies (the first address a trusted proxy did not vouch for is the client), and the
 * first X-Forwarded-Host / -Proto. Otherwise: the peer's address and the Host header.
 */
export function forwardedRequest(headers: HeaderBag, blocks: BlockList = trustedProxies()): ForwardedRequest {
  const peer = peerAddress(headers);
  const host = headerValue(headers, "host");
  if (!peer || !isTrusted(blocks, peer)) return { ip: peer, host };
  let ip = peer;
  const hops = (headerValue(headers, "x-forwarded-for") ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]);
    if (!hop) break;
    ip = hop;
    if (!isTrusted(blocks, hop)) break;
  }
  const proto = first(headerValue(headers, "x-forwarded-proto"))?.toLowerCase();
  return { ip, host: first(headerValue(headers, "x-forwarded-host")) ?? host, proto: proto === "https" || proto === "http" ? proto : undefined };
}

/** The caller's address (see forwardedRequest). */
export function clientIp(headers: HeaderBag): string | undefined {
  return forwardedRequest(headers).ip;
}
