// Device cookies (OWASP "Slow down online guessing attacks with device cookies"): a browser that once signed
// in to an account carries a cookie naming that account, signed with the platform's secret. Sign-in attempts
// that present a valid device cookie for the account they try are counted against that device only, so an
// attacker who shares the owner's address (one NAT, one proxy) or floods the account from elsewhere cannot
// hold the owner back; a device cookie that keeps failing is backed off like an address. The owner revokes every
// device cookie of the account at once by changing the password or signing out everywhere (Settings → Security).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const DEVICE_COOKIE = "cairn-device";
/** Over https: a __Host- cookie, which a sibling subdomain cannot set or shadow. */
export const SECURE_DEVICE_COOKIE = "__Host-cairn-device";
/** A device stays recognised for this long after its last successful sign-in. */
export const DEVICE_MAX_AGE_SECONDS = 180 * 24 * 3600;

function mac(secret: string, email: string, nonce: string, issuedAt: string): string {
  return createHmac("sha256", secret).update(`cairn-device-v2|${email}|${nonce}|${issuedAt}`).digest("base64url");
}

/**
 * A new device token for this account: `v2.<nonce>.<issued at, ms since the epoch, base 36>.<mac>`; the email itself is not in
 * it. The issue time lets the account's owner revoke every device at once (users.devices_valid_after: a password
 * change, "sign out everywhere") and bounds a token's life on the server, whatever the browser keeps.
 */
export function issueDeviceToken(secret: string, email: string, now = Date.now()): string {
  const nonce = randomBytes(16).toString("base64url");
  const issuedAt = Math.floor(now).toString(36);
  return `v2.${nonce}.${issuedAt}.${mac(secret, email.trim().toLowerCase(), nonce, issuedAt)}`;
}

/** What a valid device token says: its nonce and when it was issued (ms since the epoch). */
export type DeviceProofOf = { nonce: string; issuedAtMs: number };

/**
 * The device's nonce and issue time when `token` was issued for `email` with this secret, after `validAfter`
 * (when given) and less than DEVICE_MAX_AGE_SECONDS ago; else undefined.
 */
export function verifyDeviceToken(secret: string, email: string, token: string | undefined, validAfter?: Date | null, now = Date.now()): DeviceProofOf | undefined {
  if (!token || token.length > 200) return undefined;
  const [version, nonce, issuedAt, given, ...rest] = token.split(".");
  if (version !== "v2" || !nonce || !issuedAt || !given || rest.length > 0 || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || !/^[0-9a-z]{1,12}$/.test(issuedAt)) return undefined;
  const want = Buffer.from(mac(secret, email.trim().toLowerCase(), nonce, issuedAt));
  const got = Buffer.from(given);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  const issuedAtMs = parseInt(issuedAt, 36);
  if (issuedAtMs > now + 60_000 || now - issuedAtMs > DEVICE_MAX_AGE_SECONDS * 1000) return undefined;
  if (validAfter && issuedAtMs <= validAfter.getTime()) return undefined;
  return { nonce, issuedAtMs };
}

/**
 * Every device cookie value in a Cookie header. All are returned, not the first: a cookie planted for a longer
 * path (or by a sibling domain) comes first in the header, and must not hide the owner's own.
 */
export function deviceCookiesFrom(cookieHeader: string | null | undefined): string[] {
  if (!cookieHeader) return [];
  const out: string[] = [];
  for (const part of cookieHeader.split(";")) {
    const i = part.indexOf("=");
    const name = i > 0 ? part.slice(0, i).trim() : "";
    if (name === DEVICE_COOKIE || name === SECURE_DEVICE_COOKIE) out.push(part.slice(i + 1).trim());
  }
  return out.slice(0, 8);
}

/** The nonce of the first of `tokens` validly issued for `email` (after `validAfter`), if any. */
export function verifyAnyDeviceToken(secret: string, email: string, tokens: readonly string[], validAfter?: Date | null): string | undefined {
  for (const token of tokens) {
    const proof = verifyDeviceToken(secret, email, token, validAfter);
    if (proof) return proof.nonce;
  }
  return undefined;
}
