"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { FormError, TextField } from "@/components/ui/field";
import { safeCallbackPath } from "@/lib/safe-callback";

const FILL_EVENT = "cairn:fill-login";

const NEXT_AUTH_ERRORS: Record<string, string> = {
  CredentialsSignin: "Wrong email or password.",
  OidcEmailUnverified: "Your identity provider has not verified your email address, so single sign-on cannot be linked to the Cairn account with that email. Verify it with your provider, or sign in with your password.",
  OidcLinkedElsewhere: "The Cairn account with your email is linked to a different single sign-on identity. Ask an admin for help.",
  OidcNoEmail: "Your identity provider did not share an email address; Cairn needs one to create your account.",
  OAuthSignin: "Could not reach the single sign-on provider. Try again, or sign in with a password.",
  OAuthCallback: "Single sign-on did not complete. Try again.",
  SessionRequired: "Please sign in to continue.",
};

/** What authorize() itself answers (server/auth/options.ts, login.ts), shown as it is. */
const SIGN_IN_MESSAGES = [/^Wrong email or password\.$/, /^Enter your email and password\.$/, /^Too many attempts; try again in \d+ s\.$/];

function message(error: string | undefined): string | undefined {
  if (!error) return undefined;
  // Only known codes and the sign-in's own messages: a link's ?error= must not put its sender's words on this page.
  if (Object.hasOwn(NEXT_AUTH_ERRORS, error)) return NEXT_AUTH_ERRORS[error];
  return SIGN_IN_MESSAGES.some((m) => m.test(error)) ? error : "Sign-in failed. Try again.";
}

export function LoginForm({ callbackUrl, initialError, oidcName }: { callbackUrl: string; initialError?: string; oidcName?: string }) {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(message(initialError));
  const [pending, setPending] = useState(false);

  // The demo-account buttons beside the form fill it in.
  useEffect(() => {
    const fill = (e: Event) => {
      const detail = (e as CustomEvent<{ email: string; password: string }>).detail;
      setEmail(detail.email);
      setPassword(detail.password);
      setError(undefined);
    };
    window.addEventListener(FILL_EVENT, fill);
    return () => window.removeEventListener(FILL_EVENT, fill);
  }, []);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setPending(true);
    setError(undefined);
    const result = await signIn("credentials", { email, password, redirect: false });
    if (!result || result.error) {
      setPending(false);
      setError(message(result?.error ?? "Sign-in failed. Try again."));
      return;
    }
    router.replace(safeCallbackPath(callbackUrl));
    router.refresh();
  }

  return (
    <div className="mt-6">
      <form onSubmit={onSubmit} className="space-y-4" noValidate>
        <FormError message={error} />
        <TextField id="email" label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <TextField id="password" label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <Button type="submit" className="w-full" disabled={pending}>{pending ? "Signing in…" : "Sign in"}</Button>
      </form>
      {oidcName && (
        <div className="mt-4">
          <div className="my-4 flex items-center gap-3 text-xs text-stone-400"><span className="h-px flex-1 bg-stone-200" />or<span className="h-px flex-1 bg-stone-200" /></div>
          <Button variant="secondary" className="w-full" onClick={() => signIn("oidc", { callbackUrl: safeCallbackPath(callbackUrl) })}>Continue with {oidcName}</Button>
        </div>
      )}
    </div>
  );
}

export function DemoButton({ email, password }: { email: string; password: string }) {
  return (
    <Button variant="secondary" size="sm" aria-label={`Use ${email}`} onClick={() => window.dispatchEvent(new CustomEvent(FILL_EVENT, { detail: { email, password } }))}>
      Use
    </Button>
  );
}
