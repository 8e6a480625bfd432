// Sign-in from the login form as a server action: the form posts (before hydration and with JavaScript off
// too), so no credential ever travels in a URL. The same checks as next-auth's credentials provider
// (signInWithPassword: throttling, audit) and the same session next-auth issues: a JWT of {sub, sid} in
// next-auth's cookie, read back by request-actor.ts.
import { encode } from "next-auth/jwt";
import { getReadyDb } from "../bootstrap";
import { newRequestId } from "../context";
import { authSecret, env } from "../env";
import { isAppError } from "../errors";
import { DEVICE_COOKIE, DEVICE_MAX_AGE_SECONDS, SECURE_DEVICE_COOKIE, deviceCookiesFrom, issueDeviceToken } from "./device-cookie";
import { signInWithPassword } from "./login";
import { clientIp } from "./request-info";
import { originOf } from "./site-origin";
import { SESSION_MAX_AGE_SECONDS, startSession } from "./sessions";

export type SessionCookie = { name: string; value: string; options: { httpOnly: true; sameSite: "lax"; path: "/"; secure: boolean; maxAge: number } };

/** Whether the site is served over https: the protocol of its address (NEXTAUTH_URL, else what a trusted proxy reports). */
export function usesSecureCookies(h: Headers): boolean {
  return originOf(h).startsWith("https:");
}

/**
 * Checks the password and opens a session: the cookie to set, or the message to show (wrong password,
 * throttled). Throws only on an unexpected failure.
 */
export async function passwordSignIn(input: { email: string; password: string }, h: Headers): Promise<{ ok: true; cookie: SessionCookie; device: SessionCookie } | { ok: false; error: string }> {
  const email = input.email.trim();
  if (!email || !input.password) return { ok: false, error: "Enter your email and password." };
  const db = await getReadyDb();
  const request = { id: h.get("x-request-id") ?? newRequestId(), ip: clientIp(h), userAgent: h.get("user-agent") ?? undefined };
  let userId: string;
  try {
    userId = await signInWithPassword(db, { email, password: input.password }, request, env().login, { secret: authSecret(), tokens: deviceCookiesFrom(h.get("cookie")) });
  } catch (err) {
    if (isAppError(err)) return { ok: false, error: err.message };
    throw err;
  }
  const sid = await startSession(db, userId, { userAgent: request.userAgent, ip: request.ip });
  const secure = usesSecureCookies(h);
  const value = await encode({ token: { sub: userId, sid }, secret: authSecret(), maxAge: SESSION_MAX_AGE_SECONDS });
  return {
    ok: true,
    cookie: { name: `${secure ? "__Secure-" : ""}next-auth.session-token`, value, options: { httpOnly: true, sameSite: "lax", path: "/", secure, maxAge: SESSION_MAX_AGE_SECONDS } },
    // This browser has now signed in to this account: its later attempts are counted on their own.
    device: deviceCookieFor(email, h),
  };
}

/**
 * The device cookie that marks this browser as one that signed in to `email`. After the account's device cookies
 * were revoked (account.ts), pass the revocation time: the new cookie is issued after it, whatever the clocks say.
 */
export function deviceCookieFor(email: string, h: Headers, revokedAt?: Date): SessionCookie {
  const secure = usesSecureCookies(h);
  const issuedAt = Math.max(Date.now(), (revokedAt?.getTime() ?? 0) + 1);
  return { name: secure ? SECURE_DEVICE_COOKIE : DEVICE_COOKIE, value: issueDeviceToken(authSecret(), email, issuedAt), options: { httpOnly: true, sameSite: "lax", path: "/", secure, maxAge: DEVICE_MAX_AGE_SECONDS } };
}
