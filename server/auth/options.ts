// next-auth configuration: credentials (scrypt-hashed passwords) and an optional OIDC provider.
// The session JWT carries only the user id (`sub`) and its session's id (`sid`, checked and revocable in
// the database); roles are read from the database per request.
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { safeRedirectUrl } from "@/lib/safe-callback";
import { getReadyDb } from "../bootstrap";
import { authSecret, env } from "../env";
import { isAppError } from "../errors";
import { newRequestId } from "../context";
import { deviceCookiesFrom } from "./device-cookie";
import { signInWithPassword } from "./login";
import { provisionOidcUser } from "./oidc";
import { endSession, SESSION_MAX_AGE_SECONDS, startSession } from "./sessions";
import type { OidcClaims } from "./oidc";
import { clientIp, headerValue as header } from "./request-info";

/** OIDC's email_verified claim, which some providers send as the string "true". */
export function isEmailVerified(profile: unknown): boolean {
  const claim = (profile as { email_verified?: unknown } | undefined)?.email_verified;
  return claim === true || claim === "true";
}

function oidcClaims(subject: string, user: { email?: string | null; name?: string | null }, profile: unknown): OidcClaims {
  return { subject, email: user.email ?? "", name: user.name ?? "", emailVerified: isEmailVerified(profile) };
}

export function authOptions(): NextAuthOptions {
  const { oidc, login } = env();
  return {
    secret: authSecret(),
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_SECONDS },
    events: {
      // The cookie is cleared by next-auth; revoking the session makes a copy of it worthless too.
      async signOut({ token }) {
        await endSession(await getReadyDb(), token?.sid);
      },
    },
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
            const id = await signInWithPassword(db, { email, password }, request, login, { secret: authSecret(), tokens: deviceCookiesFrom(header(req?.headers, "cookie")) });
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
      // Only paths on this site: next-auth's default lets "/\t/evil.example" through and throws on "\n".
      async redirect({ url, baseUrl }) {
        return safeRedirectUrl(url, baseUrl);
      },
      async signIn({ account, user, profile }) {
        if (account?.provider !== "oidc") return true;
        if (!user.email) return "/login?error=OidcNoEmail";
        // Provisioning (or linking by a verified email) happens here so a refusal reaches the login page.
        try {
          await provisionOidcUser(await getReadyDb(), oidcClaims(account.providerAccountId, user, profile));
          return true;
        } catch (err) {
          if (isAppError(err)) {
            const code = { conflict: "OidcLinkedElsewhere", invalid_input: "OidcNoEmail", forbidden: "AccountDeactivated" }[err.code as string] ?? "OidcEmailUnverified";
            return `/login?error=${code}`;
          }
          throw err;
        }
      },
      async jwt({ token, user, account, profile }) {
        if (user && account) {
          const db = await getReadyDb();
          // For OIDC, signIn above provisioned or linked the account; this is the lookup by subject.
          const id = account.provider === "oidc" ? await provisionOidcUser(db, oidcClaims(account.providerAccountId, user, profile)) : user.id;
          return { sub: id, sid: await startSession(db, id) };
        }
        return { sub: token.sub, sid: token.sid };
      },
      async session({ session, token }) {
        return { expires: session.expires, user: { id: token.sub ?? "" } };
      },
    },
  };
}
