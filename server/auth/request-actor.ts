// Resolves the actor of an HTTP request: an API token (Authorization header) or the session cookie.
// A request that carries an Authorization header is judged by that header alone.
import { getToken } from "next-auth/jwt";
import type { Db } from "@/db/client";
import { authSecret } from "../env";
import { AppError } from "../errors";
import type { Actor, UserActor } from "./actor";
import { loadSessionActor } from "./sessions";
import { resolveTokenActor } from "./token-actor";

export type ResolvedActor = { actor: Actor; via: "token" | "session" } | null;

function parseCookies(header: string | null): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) map.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return map;
}

/** The API token carried by `Authorization: Bearer <t>` or (for MLflow clients) `Basic <user:t>`. */
export function credentialFromHeader(authorization: string): string {
  const [scheme, value, ...rest] = authorization.trim().split(/\s+/);
  if (!scheme || !value || rest.length > 0) {
    throw new AppError("unauthenticated", "The Authorization header is malformed; send `Authorization: Bearer <token>`.");
  }
  if (scheme.toLowerCase() === "bearer") return value;
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new AppError("unauthenticated", "Basic credentials must be `<user>:<token>`.");
    return decoded.slice(colon + 1);
  }
  throw new AppError("unauthenticated", `Unsupported authorization scheme "${scheme}"; send \`Authorization: Bearer <token>\`.`);
}

export async function resolveRequestActor(db: Db, req: Pick<Request, "headers">): Promise<ResolvedActor> {
  const authorization = req.headers.get("authorization");
  if (authorization !== null) {
    return { actor: await resolveTokenActor(db, credentialFromHeader(authorization)), via: "token" };
  }
  const actor = await resolveSessionActor(db, parseCookies(req.headers.get("cookie")));
  return actor ? { actor, via: "session" } : null;
}

/** The actor of the session cookie among `cookies`, when its JWT is valid and its session live (not signed out). */
export async function resolveSessionActor(db: Db, cookies: Map<string, string>): Promise<UserActor | null> {
  const hasSession = [...cookies.keys()].some((k) => k.includes("next-auth.session-token"));
  if (!hasSession) return null;
  const secureCookie = [...cookies.keys()].some((k) => k.startsWith("__Secure-next-auth.session-token"));
  // Headers without Authorization: next-auth would otherwise read a bearer JWT from it.
  const jwt = await getToken({ req: { cookies: Object.fromEntries(cookies), headers: {} } as never, secret: authSecret(), secureCookie });
  if (!jwt?.sub) return null;
  return loadSessionActor(db, jwt);
}
