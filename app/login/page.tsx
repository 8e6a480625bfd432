import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { DEMO_PASSWORD, DEMO_USERS } from "@/db/seed/demo";
import { DemoButton, LoginForm } from "@/components/auth/login-form";
import { Logo } from "@/components/shell/logo";
import { getPageActor } from "@/server/auth/session";
import { env } from "@/server/env";
import { safeCallbackPath } from "@/lib/safe-callback";
import { signInAction } from "./actions";

export const metadata: Metadata = { title: "Sign in" };

export default async function LoginPage(props: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const searchParams = await props.searchParams;
  const callbackUrl = safeCallbackPath(searchParams.callbackUrl);
  if (await getPageActor()) redirect(callbackUrl);
  const { demo, oidc } = env();
  const error = typeof searchParams.error === "string" ? searchParams.error : undefined;
  const email = typeof searchParams.email === "string" && searchParams.email.length <= 320 ? searchParams.email : undefined;
  const notice = searchParams.invited === "1" ? "Invitation accepted — sign in with your new password." : undefined;
  return (
    <main className="flex min-h-screen items-center justify-center bg-gradient-to-b from-teal-50 to-stone-50 px-4 py-12">
      <div className="grid w-full max-w-4xl gap-8 md:grid-cols-2">
        <div className="rounded-xl border border-stone-200 bg-white p-8 shadow-sm">
          <Logo className="text-stone-900" />
          <h1 className="mt-6 text-xl font-semibold text-stone-900">Sign in to Cairn</h1>
          <p className="mt-1 text-sm text-stone-600">Experiments, training, models and deployments for your team.</p>
          <LoginForm action={signInAction} callbackUrl={callbackUrl} initialEmail={email} notice={notice} initialError={error} oidcName={oidc?.name} />
        </div>
        {demo && (
          <aside aria-label="Demo accounts" className="rounded-xl border border-dashed border-teal-300 bg-white/70 p-6">
            <h2 className="text-sm font-semibold text-stone-900">Demo organization</h2>
            <p className="mt-1 text-sm text-stone-600">
              Every demo account uses the password <code className="rounded bg-stone-100 px-1 font-mono text-xs">{DEMO_PASSWORD}</code>.
              Pick one to fill in the form.
            </p>
            <ul className="mt-4 divide-y divide-stone-100" data-testid="demo-accounts">
              {DEMO_USERS.map((u) => (
                <li key={u.email} className="flex items-center justify-between gap-3 py-2">
                  <div className="min-w-0">
                    <div className="truncate font-mono text-sm text-stone-800">{u.email}</div>
                    <div className="text-xs text-stone-500">{u.label}</div>
                  </div>
                  <DemoButton email={u.email} password={DEMO_PASSWORD} />
                </li>
              ))}
            </ul>
          </aside>
        )}
      </div>
    </main>
  );
}
