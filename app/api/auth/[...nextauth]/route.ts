// GET/POST /api/auth/* — next-auth (credentials and optional OIDC sign-in, session, sign-out)
import NextAuth from "next-auth";
import { authOptions } from "@/server/auth/options";

type Ctx = { params: Promise<{ nextauth: string[] }> };

async function handler(req: Request, ctx: Ctx): Promise<Response> {
  return NextAuth(authOptions())(req, ctx);
}

export { handler as GET, handler as POST };
