// GET/POST /api/auth/* — next-auth (credentials and optional OIDC sign-in, session, sign-out)
import NextAuth from "next-auth";
import { authOptions } from "@/server/auth/options";
import { usesSecureCookies } from "@/server/auth/password-sign-in";

type Ctx = { params: Promise<{ nextauth: string[] }> };

async function handler(req: Request, ctx: Ctx): Promise<Response> {
  // The cookies' names and Secure flag by the same rule as the login form's sign-in (NEXTAUTH_URL, else what a
  // trusted proxy reports), so sign-out clears the cookie the form set: next-auth alone would believe any
  // X-Forwarded-Proto and look for the __Secure- name.
  return NextAuth({ ...authOptions(), useSecureCookies: usesSecureCookies(req.headers) })(req, ctx);
}

export { handler as GET, handler as POST };
