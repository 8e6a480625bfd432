"use client";

import Link from "next/link";
import { signOut } from "next-auth/react";
import type { ShellUser } from "./app-shell";

export function UserMenu({ user }: { user: ShellUser }) {
  const initials = user.name.split(/\s+/).map((p) => p[0]).join("").slice(0, 2).toUpperCase();
  return (
    <details className="group relative">
      <summary className="flex cursor-pointer list-none items-center gap-2 rounded-md px-2 py-1 hover:bg-stone-100" aria-label="User menu">
        <span aria-hidden className="flex h-8 w-8 items-center justify-center rounded-full bg-teal-700 text-xs font-semibold text-white">{initials}</span>
        <span className="hidden text-left sm:block">
          <span className="block text-sm leading-tight font-medium text-stone-900">{user.name}</span>
          <span className="block text-xs leading-tight text-stone-500" data-testid="current-role">{user.roleLabel}</span>
        </span>
      </summary>
      <div className="absolute right-0 z-50 mt-2 w-64 rounded-lg border border-stone-200 bg-white p-2 shadow-lg">
        <div className="border-b border-stone-100 px-2 pb-2">
          <div className="text-sm font-medium text-stone-900">{user.name}</div>
          <div className="truncate text-xs text-stone-500">{user.email}</div>
          <div className="mt-1 text-xs text-teal-800">{user.roleLabel}</div>
        </div>
        <Link href="/settings/tokens" className="mt-1 block rounded px-2 py-1.5 text-sm text-stone-700 hover:bg-stone-100">API tokens</Link>
        <Link href="/settings/security" className="block rounded px-2 py-1.5 text-sm text-stone-700 hover:bg-stone-100">Security and sessions</Link>
        <button type="button" className="block w-full rounded px-2 py-1.5 text-left text-sm text-stone-700 hover:bg-stone-100" onClick={() => signOut({ callbackUrl: "/login" })}>
          Sign out
        </button>
      </div>
    </details>
  );
}
