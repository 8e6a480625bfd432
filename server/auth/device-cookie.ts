// Device cookies (OWASP "Slow down online guessing attacks with device cookies"): a browser that once signed
// in to an account carries a cookie naming that account, signed with the platform's secret. Sign-in attempts
// that present a valid device cookie for the account they try are counted against that device only, so an
// attacker who shares the owner's address (one NAT, one proxy) or floods the account from elsewhere cannot
// hold the owner back; a device cookie that keeps failing is backed off like an address.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const DEVICE_COOKIE = "cairn-device";
/** Over https: a __Host- cookie, which a sibling subdomain cannot set or shadow. */
export const SECURE_DEVICE_COOKIE = "__Host-cairn-device";
/** A device stays recognised for this long after its last successful sign-in. */
export const DEVICE_MAX_AGE_SECONDS = 180 * 24 * 3600;

function mac(secret: string, email: string, nonce: string): string {
  return createHmac("sha256", secret).update(`cairn-device-v1|${email}|${nonce}`).digest("base64url");
}

/** A new device token for this account: `v1.<nonce>.<mac>`, the email itself is not in it. */
export function issueDeviceToken(secret: string, email: string): string {
  const nonce = randomBytes(16).toString("base64url");
  return `v1.${nonce}.${mac(secret, email.trim().toLowerCase(), nonce)}`;
}

/** The device's nonce when `token` was issued for `email` with this secret, else undefined. */
export function verifyDeviceToken(secret: string, email: string, token: string | undefined): string | undefined {
  if (!token || token.length > 200) return undefined;
  const [version, nonce, given] = token.split(".");
  if (version !== "v1" || !nonce || !given || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) return undefined;
  const want = Buffer.from(mac(secret, email.trim().toLowerCase(), nonce));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want) ? nonce : undefined;
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

/** The nonce of the first of `tokens` issued for `email`, if any. */
export function verifyAnyDeviceToken(secret: string, email: string, tokens: readonly string[]): string | undefined {
  for (const token of tokens) {
    const nonce = verifyDeviceToken(secret, email, token);
    if (nonce) return nonce;
  }
  return undefined;
}
