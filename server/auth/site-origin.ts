// This site's address as its users reach it, for snippets shown on pages ("export MLFLOW_TRACKING_URI=…"):
// NEXTAUTH_URL when set, else the request's host and protocol (a trusted proxy's X-Forwarded-* included).
import { headers } from "next/headers";
import { forwardedRequest } from "./request-info";
import { env } from "../env";

export function originOf(h: Headers): string {
  const configured = env().nextAuthUrl;
  if (configured) return new URL(configured).origin;
  const fwd = forwardedRequest(h);
  const host = fwd.host && /^[A-Za-z0-9.\-[\]:]+$/.test(fwd.host) ? fwd.host : "localhost:3000";
  return `${fwd.proto ?? "http"}://${host}`;
}

export async function siteOrigin(): Promise<string> {
  return originOf(await headers());
}
