"use server";

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { safeCallbackPath } from "@/lib/safe-callback";
import type { SignInState } from "@/lib/sign-in";
import { passwordSignIn } from "@/server/auth/password-sign-in";

/**
 * The login form's action (useActionState): a posted form, so it works before the page's JavaScript has
 * loaded and with JavaScript off. Success sets the session cookie and redirects to the callback path; a
 * refusal answers the message and the email as typed (never the password).
 */
export async function signInAction(_prev: SignInState, form: FormData): Promise<SignInState> {
  const text = (key: string) => {
    const v = form.get(key);
    return typeof v === "string" ? v : "";
  };
  const email = text("email").slice(0, 320);
  const result = await passwordSignIn({ email, password: text("password").slice(0, 1024) }, await headers());
  if (!result.ok) return { error: result.error, email };
  const jar = await cookies();
  jar.set(result.cookie.name, result.cookie.value, result.cookie.options);
  jar.set(result.device.name, result.device.value, result.device.options);
  redirect(safeCallbackPath(text("callbackUrl")));
}
