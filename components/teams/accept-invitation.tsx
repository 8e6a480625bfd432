"use client";

import Link from "next/link";
import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import type { ActionResult } from "@/lib/action-result";
import { PASSWORD_MIN_LENGTH } from "@/lib/schemas/users";
import { Button, buttonClass } from "@/components/ui/button";
import { FormError, TextField } from "@/components/ui/field";

type Accepted = { email: string; team: string };

/** The invitee sets a name and password (or continues with single sign-on as the invited email). */
export function AcceptInvitationForm({ token, email, oidcName, accept }: {
  token: string;
  email: string;
  oidcName?: string;
  accept: (input: { token: string; name: string; password: string }) => Promise<ActionResult<Accepted>>;
}) {
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [done, setDone] = useState<Accepted>();
  const [pending, startTransition] = useTransition();

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const password = String(data.get("password") ?? "");
    if (password !== String(data.get("confirm") ?? "")) {
      setFieldErrors({ confirm: ["The two passwords differ"] });
      setError(undefined);
      return;
    }
    startTransition(async () => {
      const result = await accept({ token, name: String(data.get("name") ?? ""), password });
      if (!result.ok) {
        setError(result.error);
        setFieldErrors(result.fieldErrors ?? {});
        return;
      }
      setDone(result.data);
    });
  }

  if (done) {
    const login = `/login?${new URLSearchParams({ email: done.email, callbackUrl: `/teams/${done.team}`, invited: "1" })}`;
    return (
      <div className="mt-6 space-y-4">
        <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
          Invitation accepted — sign in with your new password as <span className="font-mono">{done.email}</span>.
        </p>
        <Link href={login} className={buttonClass("primary")}>Sign in</Link>
      </div>
    );
  }
  return (
    <form onSubmit={onSubmit} className="mt-6 space-y-4" noValidate aria-label="Accept invitation">
      <FormError message={error} />
      <TextField id="invite-email" label="Email" value={email} readOnly disabled />
      <TextField id="name" label="Your name" autoComplete="name" required error={fieldErrors.name} />
      <TextField id="password" label="Password" type="password" autoComplete="new-password" required minLength={PASSWORD_MIN_LENGTH}
        error={fieldErrors.password} hint={`At least ${PASSWORD_MIN_LENGTH} characters.`} />
      <TextField id="confirm" label="Repeat password" type="password" autoComplete="new-password" required error={fieldErrors.confirm} />
      <Button type="submit" disabled={pending} className="w-full">{pending ? "Setting up…" : "Set password and join"}</Button>
      {oidcName && (
        <div className="border-t border-stone-200 pt-4 text-sm text-stone-600">
          <p className="mb-2">Or sign in with {oidcName} as <span className="font-mono">{email}</span>, then accept here.</p>
          <Button variant="secondary" className="w-full" onClick={() => signIn("oidc", { callbackUrl: `/invite/${token}` })}>Continue with {oidcName}</Button>
        </div>
      )}
    </form>
  );
}

/** For an invitee signed in as the invited email: one button joins the team. */
export function JoinTeamButton({ token, team, join }: { token: string; team: string; join: (input: { token: string }) => Promise<ActionResult<Accepted>> }) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <div className="mt-6 space-y-3">
      <FormError message={error} />
      <Button className="w-full" disabled={pending} onClick={() => startTransition(async () => {
        const result = await join({ token });
        if (!result.ok) { setError(result.error); return; }
        router.push(`/teams/${result.data.team}`);
      })}>{pending ? "Joining…" : `Join ${team}`}</Button>
    </div>
  );
}
