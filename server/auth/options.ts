// next-auth configuration: credentials (scrypt-hashed passwords) and an optional OIDC provider.
// The session JWT carries only the user id (`sub`); roles are read from the database per request.
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { eq, or } from "drizzle-orm";
import { users } from "@/db/schema";
import { getReadyDb } from "../bootstrap";
import { authSecret, env } from "../env";
import { isAppError } from "../errors";
import { recordAudit } from "../audit/record";
import { newRequestId } from "../context";
import { signInWithPassword } from "./login";
import { loadUserActor } from "./load-actor";
import { clientIp, headerValue as header } from "./request-info";

/** Provisions (or links) the user behind an OIDC login and returns our user id. */
async function provisionOidcUser(subject: string, email: string, name: string): Promise<string> {
  const db = await getReadyDb();
  const normalized = email.toLowerCase();
  const [existing] = await db.select({ id: users.id, oidcSubject: users.oidcSubject }).from(users)
    .where(or(eq(users.oidcSubject, subject), eq(users.email, normalized)));
  if (existing) {
    if (!existing.oidcSubject) await db.update(users).set({ oidcSubject: subject }).where(eq(users.id, existing.id));
    return existing.id;
  }
  const [created] = await db.insert(users).values({ email: normalized, name: name || normalized, oidcSubject: subject }).returning({ id: users.id });
  if (!created) throw new Error("user insert returned nothing");
  const actor = await loadUserActor(db, created.id);
  if (actor) await recordAudit({ actor, db, request: { id: newRequestId() } }, { action: "user.provision", target: `user:${normalized}`, details: { provider: "oidc" } });
  return created.id;
}

export function authOptions(): NextAuthOptions {
  const { oidc, login } = env();
  return {
    secret: authSecret(),
    session: { strategy: "jwt", maxAge: 12 * 60 * 60 },
    pages: { signIn: "/login", error: "/login" },
    providers: [
      CredentialsProvider({
        id: "credentials",
        name: "Email and password",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(credentials, req) {
          const email = credentials?.email ?? "";
          const password = credentials?.password ?? "";
          if (!email || !password) throw new Error("Enter your email and password.");
          const db = await getReadyDb();
          const request = { id: newRequestId(), ip: clientIp(req?.headers), userAgent: header(req?.headers, "user-agent") };
          try {
            const id = await signInWithPassword(db, { email, password }, request, login);
            return { id };
          } catch (err) {
            if (isAppError(err)) throw new Error(err.message);
            throw err;
          }
        },
      }),
      ...(oidc
        ? [{
            id: "oidc",
            name: oidc.name,
            type: "oauth" as const,
            wellKnown: `${oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
            clientId: oidc.clientId,
            clientSecret: oidc.clientSecret,
            idToken: true,
            checks: ["pkce", "state"] as ("pkce" | "state")[],
            authorization: { params: { scope: "openid email profile" } },
            profile(p: { sub: string; email?: string; name?: string; preferred_username?: string }) {
              return { id: p.sub, email: p.email ?? null, name: p.name ?? p.preferred_username ?? p.email ?? p.sub };
            },
          }]
        : []),
    ],
    callbacks: {
      async signIn({ account, user }) {
        if (account?.provider === "oidc" && !user.email) return "/login?error=OidcNoEmail";
        return true;
      },
      async jwt({ token, user, account }) {
        if (user && account) {
          const id = account.provider === "oidc"
            ? await provisionOidcUser(account.providerAccountId, user.email ?? "", user.name ?? "")
            : user.id;
          return { sub: id };
        }
        return { sub: token.sub };
      },
      async session({ session, token }) {
        return { expires: session.expires, user: { id: token.sub ?? "" } };
      },
    },
  };
}
