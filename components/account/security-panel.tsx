"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import type { ActionResult } from "@/lib/action-result";
import { formatCount, formatDateTime, formatRelative } from "@/lib/format";
import type { AccountSessionDto, ChangePasswordInput } from "@/lib/schemas/account";
import { PASSWORD_MIN_LENGTH } from "@/lib/schemas/users";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { FormError, TextField } from "@/components/ui/field";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";

type Props = {
  sessions: AccountSessionDto[];
  hasPassword: boolean;
  changePassword: (input: ChangePasswordInput) => Promise<ActionResult<{ ended: number }>>;
  endOtherSessions: (input: Record<string, never>) => Promise<ActionResult<{ ended: number }>>;
  endSession: (id: string) => Promise<ActionResult<{ current: boolean }>>;
};

/** A short name for a browser from its user agent ("Chrome on Linux"); the full string is the cell's title. */
function browserOf(ua: string | null): string {
  if (!ua) return "Unknown browser";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrom(e|ium)\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : /curl\//.test(ua) ? "curl" : "Browser";
  const os = /Windows/.test(ua) ? "Windows" : /Mac OS X|Macintosh/.test(ua) ? "macOS" : /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Linux/.test(ua) ? "Linux" : "";
  return os ? `${browser} on ${os}` : browser;
}

export function SecurityPanel({ sessions, hasPassword, changePassword, endOtherSessions, endSession }: Props) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [sessionError, setSessionError] = useState<string>();
  const [sessionNotice, setSessionNotice] = useState<string>();
  const [pwError, setPwError] = useState<string>();
  const [pwFields, setPwFields] = useState<Record<string, string[]>>({});
  const [pwNotice, setPwNotice] = useState<string>();
  const others = sessions.filter((s) => !s.current).length;

  function onEnd(s: AccountSessionDto) {
    const question = s.current ? "Sign out of this browser?" : `Sign out ${browserOf(s.user_agent)} (signed in ${formatRelative(s.created_at)})?`;
    if (!window.confirm(question)) return;
    startTransition(async () => {
      const r = await endSession(s.id);
      if (!r.ok) return setSessionError(r.error);
      setSessionError(undefined);
      if (r.data.current) return router.push("/login");
      setSessionNotice("That session was signed out.");
      router.refresh();
    });
  }

  function onEndOthers() {
    if (!window.confirm("Sign out every other session? Other browsers will have to sign in again, and every browser (this one too) counts as an unknown device until its next sign-in.")) return;
    startTransition(async () => {
      const r = await endOtherSessions({});
      if (!r.ok) return setSessionError(r.error);
      setSessionError(undefined);
      setSessionNotice(`${formatCount(r.data.ended, "other session")} signed out; the account's device cookies revoked.`);
      router.refresh();
    });
  }

  function onChangePassword(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    const input = {
      current_password: String(form.get("current_password") ?? ""),
      new_password: String(form.get("new_password") ?? ""),
      confirm_password: String(form.get("confirm_password") ?? ""),
    };
    startTransition(async () => {
      const r = await changePassword(input);
      if (!r.ok) {
        setPwError(r.error);
        setPwFields(r.fieldErrors ?? {});
        setPwNotice(undefined);
        return;
      }
      setPwError(undefined);
      setPwFields({});
      setPwNotice(`Password changed. ${formatCount(r.data.ended, "other session")} signed out.`);
      formEl.reset();
      router.refresh();
    });
  }

  return (
    <div className="grid gap-6 xl:grid-cols-3">
      <div className="space-y-3 xl:col-span-2">
        {sessionNotice && <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900 ring-1 ring-emerald-200">{sessionNotice}</p>}
        {sessionError && <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 ring-1 ring-red-200">{sessionError}</p>}
        <Table caption="Where you are signed in">
          <thead>
            <tr><Th>Browser</Th><Th>Address</Th><Th>Signed in</Th><Th>Ends</Th><Th><span className="sr-only">Actions</span></Th></tr>
          </thead>
          <tbody className="divide-y divide-stone-100">
            {sessions.length === 0 && <EmptyRow colSpan={5}>No live sessions.</EmptyRow>}
            {sessions.map((s) => (
              <tr key={s.id} data-testid="session-row">
                <Td title={s.user_agent ?? undefined}>
                  <span className="font-medium">{browserOf(s.user_agent)}</span> {s.current && <Badge tone="green">this browser</Badge>}
                </Td>
                <Td className="font-mono text-xs">{s.ip ?? "—"}</Td>
                <Td className="text-stone-600" title={formatDateTime(s.created_at)}>{formatRelative(s.created_at)}</Td>
                <Td className="text-stone-600">{formatDateTime(s.expires_at)}</Td>
                <Td className="text-right">
                  <Button variant={s.current ? "secondary" : "danger"} size="sm" disabled={pending} onClick={() => onEnd(s)} aria-label={s.current ? "Sign out of this browser" : `Sign out ${browserOf(s.user_agent)} signed in ${formatRelative(s.created_at)}`}>
                    Sign out
                  </Button>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
        <div className="flex items-center gap-3">
          <Button variant="danger" disabled={pending || others === 0} onClick={onEndOthers}>Sign out all other sessions</Button>
          <span className="text-xs text-stone-500">
            {others === 0 ? "You are signed in only here." : `${formatCount(others, "other session")}.`} API tokens are not affected: revoke them under API tokens.
          </span>
        </div>
      </div>
      <Card title="Change password">
        {hasPassword ? (
          <form onSubmit={onChangePassword} className="space-y-4" noValidate>
            {pwNotice && <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900 ring-1 ring-emerald-200">{pwNotice}</p>}
            <FormError message={pwError} />
            <TextField id="current_password" label="Current password" type="password" autoComplete="current-password" required error={pwFields.current_password} />
            <TextField id="new_password" label="New password" type="password" autoComplete="new-password" required minLength={PASSWORD_MIN_LENGTH} error={pwFields.new_password} hint={`At least ${PASSWORD_MIN_LENGTH} characters.`} />
            <TextField id="confirm_password" label="Repeat new password" type="password" autoComplete="new-password" required error={pwFields.confirm_password} />
            <p className="text-xs text-stone-500">Changing it signs out your other sessions; this browser stays signed in.</p>
            <Button type="submit" disabled={pending}>{pending ? "Changing…" : "Change password"}</Button>
          </form>
        ) : (
          <p className="text-sm text-stone-600">You sign in with single sign-on; your password is managed by your identity provider.</p>
        )}
      </Card>
    </div>
  );
}
