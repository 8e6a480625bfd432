"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

/** Deactivate (after a confirmation that says what stops) or reactivate one user; says what happened. */
export function UserStatusButton({ userId, email, active, isSelf, setActive }: {
  userId: string;
  email: string;
  active: boolean;
  isSelf: boolean;
  setActive: (input: { user_id: string; active: boolean }) => Promise<ActionResult<{ email: string; active: boolean }>>;
}) {
  const router = useRouter();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [pending, startTransition] = useTransition();
  const apply = (next: boolean) => startTransition(async () => {
    setConfirming(false);
    const r = await setActive({ user_id: userId, active: next });
    if (!r.ok) { setError(r.error); setNotice(undefined); return; }
    setError(undefined);
    setNotice(next ? `${email} can sign in again.` : `${email} is deactivated; their sessions and tokens have stopped.`);
    router.refresh();
  });
  if (isSelf) return <span className="text-xs text-stone-500">you</span>;
  return (
    <div className="flex flex-col items-end gap-1">
      {confirming ? (
        <div role="alertdialog" aria-label={`Confirm deactivating ${email}`} className="flex flex-wrap items-center justify-end gap-2 rounded-md border border-red-200 bg-red-50 px-2 py-1 text-xs text-red-900">
          <span>Deactivate {email}? They are signed out and their API tokens are revoked at once.</span>
          <Button size="sm" variant="danger" disabled={pending} onClick={() => apply(false)}>Yes, deactivate</Button>
          <Button size="sm" variant="secondary" onClick={() => setConfirming(false)}>Cancel</Button>
        </div>
      ) : active ? (
        <Button size="sm" variant="ghost" disabled={pending} aria-label={`Deactivate ${email}`} onClick={() => setConfirming(true)}>Deactivate</Button>
      ) : (
        <Button size="sm" variant="secondary" disabled={pending} aria-label={`Reactivate ${email}`} onClick={() => apply(true)}>Reactivate</Button>
      )}
      {notice && <span role="status" className="text-xs text-emerald-800">{notice}</span>}
      {error && <span role="alert" className="text-xs text-red-700">{error}</span>}
    </div>
  );
}
