// Sends signed-out browsers to /login. Not a security boundary: every page, action and route
// authorizes on its own, so a spoofed header (e.g. x-middleware-subrequest) gains nothing.
import { NextResponse } from "next/server";
import type { NextRequest } from "next/server";
import { safeCallbackPath } from "@/lib/safe-callback";

export function proxy(req: NextRequest) {
  const hasSession = req.cookies.getAll().some((c) => c.name.includes("next-auth.session-token"));
  if (hasSession) return NextResponse.next();
  const url = req.nextUrl.clone();
  url.pathname = "/login";
  url.search = "";
  const back = safeCallbackPath(req.nextUrl.pathname + req.nextUrl.search);
  if (back !== "/") url.searchParams.set("callbackUrl", back);
  return NextResponse.redirect(url);
}

export const config = {
  // Pages only: the API (/api/…, and MLflow's /ajax-api/… — the tracking API under its UI's prefix) answers 401
  // itself, and static assets, the login page and invitation links stay public.
  matcher: ["/((?!api/|ajax-api/|serve/|_next/|login|invite/|favicon|.*\\.(?:svg|png|jpg|ico|css|js|woff2?)$).*)"],
};
