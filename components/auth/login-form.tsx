"use client";

import { signIn } from "next-auth/react";
import { startTransition, useActionState, useEffect, useRef, useState } from "react";
import { Button } from "@/components/ui/button";
import { FormError, TextField } from "@/components/ui/field";
import { safeCallbackPath } from "@/lib/safe-callback";
import type { SignInState } from "@/lib/sign-in";

const FILL_EVENT = "cairn:fill-login";

const NEXT_AUTH_ERRORS: Record<string, string> = {
  CredentialsSignin: "Wrong email or password.",
  OidcEmailUnverified: "Your identity provider has not verified your email address, so single sign-on cannot be linked to the Cairn account with that email. Verify it with your provider, or sign in with your password.",
  OidcLinkedElsewhere: "The Cairn account with your email is linked to a different single sign-on identity. Ask an admin for help.",
  OidcNoEmail: "Your identity provider did not share an email address; Cairn needs one to create your account.",
  OAuthSignin: "Could not reach the single sign-on provider. Try again, or sign in with a password.",
  OAuthCallback: "Single sign-on did not complete. Try again.",
  SessionRequired: "Please sign in to continue.",
  AccountDeactivated: "This account has been deactivated. Ask a platform admin to reactivate it.",
};

/** What authorize() itself answers (server/auth/options.ts, login.ts), shown as it is. */
const SIGN_IN_MESSAGES = [/^Wrong email or password\.$/, /^Enter your email and password\.$/, /^Too many attempts; try again in \d+ s\.$/, /^This account has been deactivated\. Ask a platform admin to reactivate it\.$/];

function message(error: string | undefined): string | undefined {
  if (!error) return undefined;
  // Only known codes and the sign-in's own messages: a link's ?error= must not put its sender's words on this page.
  if (Object.hasOwn(NEXT_AUTH_ERRORS, error)) return NEXT_AUTH_ERRORS[error];
  return SIGN_IN_MESSAGES.some((m) => m.test(error)) ? error : "Sign-in failed. Try again.";
}

/**
 * A form that posts to the sign-in server action: it works before the page's JavaScript has loaded and with
 * JavaScript off, never puts a credential in a URL, and its fields are the browser's own (uncontrolled), so
 * hydration never wipes what was typed.
 */
export function LoginForm({ action, callbackUrl, initialError, initialEmail, notice, oidcName }: {
  action: (prev: SignInState, form: FormData) => Promise<SignInState>;
  callbackUrl: string;
  initialError?: string;
  /** Prefilled (an accepted invitation's link names the new account's email). */
  initialEmail?: string;
  notice?: string;
  oidcName?: string;
}) {
  const [state, formAction, pending] = useActionState(action, { error: message(initialError), email: initialEmail });
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  // Filling in a demo account clears the error shown for the last attempt.
  const [dismissed, setDismissed] = useState<SignInState | null>(null);

  // The demo-account buttons beside the form fill it in.
  useEffect(() => {
    const fill = (e: Event) => {
      const detail = (e as CustomEvent<{ email: string; password: string }>).detail;
      if (emailRef.current) emailRef.current.value = detail.email;
      if (passwordRef.current) passwordRef.current.value = detail.password;
      setDismissed(state);
    };
    window.addEventListener(FILL_EVENT, fill);
    return () => window.removeEventListener(FILL_EVENT, fill);
  }, [state]);

  return (
    <div className="mt-6">
      <form
        action={formAction}
        // Once hydrated, the same action runs without React's automatic form reset, so nothing typed while a
        // sign-in is in flight is wiped; before hydration (or with JavaScript off) the browser posts the form.
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          startTransition(() => formAction(data));
        }}
        method="post"
        className="space-y-4"
        noValidate
        aria-label="Sign in"
      >
        <FormError message={dismissed === state ? undefined : state.error} />
        {notice && !state.error && <p role="status" className="rounded-md border border-teal-200 bg-teal-50 px-3 py-2 text-sm text-teal-900">{notice}</p>}
        <input type="hidden" name="callbackUrl" value={safeCallbackPath(callbackUrl)} />
        <TextField ref={emailRef} id="email" name="email" label="Email" type="email" autoComplete="username" required defaultValue={state.email ?? ""} />
        <TextField ref={passwordRef} id="password" name="password" label="Password" type="password" autoComplete="current-password" required />
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
