"use client";

import Link from "next/link";
import { usePathname, useSearchParams } from "next/navigation";
import { useState } from "react";
import type { ReactNode } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { NavItem } from "@/lib/nav";
import { ALL_TEAMS, scopedHref, scopedSection } from "@/lib/team-scope";
import { cn } from "@/components/ui/cn";
import { Icon } from "./icons";
import { Logo } from "./logo";
import { TeamSwitcher } from "./team-switcher";
import type { TeamOption } from "./team-switcher";
import { UserMenu } from "./user-menu";

export type ShellUser = { name: string; email: string; roleLabel: string };

/** The scope the page shows: the list's ?team= when it names one of the options, else the team one works in. */
function useScope(teams: TeamOption[], current: string | undefined): string | null {
  const pathname = usePathname();
  const requested = useSearchParams().get("team");
  if (scopedSection(pathname) && requested) {
    if (requested === ALL_TEAMS) return null;
    if (teams.some((t) => t.slug === requested)) return requested;
  }
  return current ?? null;
}

function NavLinks({ items, scope, counts, onNavigate }: { items: NavItem[]; scope: string | null | undefined; counts: Record<string, number>; onNavigate?: () => void }) {
  const pathname = usePathname();
  // The most specific item wins: /admin/platform is Platform's page, not Admin's.
  const matches = (href: string) => pathname === href || pathname.startsWith(`${href}/`);
  const current = items.filter((i) => matches(i.href)).sort((a, b) => b.href.length - a.href.length)[0]?.href;
  return (
    <ul className="space-y-0.5">
      {items.map((item) => {
        const active = item.href === current;
        return (
          <li key={item.href}>
            <Link
              // The scoped lists keep the scope the user is looking at.
              href={scope !== undefined && scopedSection(item.href) === item.href ? scopedHref(item.href, "", scope) : item.href}
              // Placeholder pages are not worth rendering ahead of a click on every page view.
              prefetch={item.ready ? undefined : false}
              onClick={onNavigate}
              aria-current={active ? "page" : undefined}
              className={cn(
                "flex items-center gap-2.5 rounded-md px-2.5 py-1.5 text-sm transition-colors",
                active ? "bg-teal-700/30 font-medium text-white" : "text-stone-300 hover:bg-white/5 hover:text-white",
              )}
            >
              <Icon name={item.icon} />
              <span className="flex-1">{item.label}</span>
              {(counts[item.href] ?? 0) > 0 && (
                <span className="rounded-full bg-amber-400 px-1.5 text-[11px] leading-5 font-semibold text-stone-900 tabular-nums" title={`${counts[item.href]} waiting for your decision`}>
                  {counts[item.href]}<span className="sr-only"> waiting for your decision</span>
                </span>
              )}
              {!item.ready && <span className="text-[10px] tracking-wide text-stone-500 uppercase">soon</span>}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

export function AppShell(props: {
  nav: NavItem[];
  user: ShellUser;
  teams: TeamOption[];
  currentTeam?: string;
  /** The user-menu's role line per team scope (slug, or "all"), and when the scope names none of them. */
  roleLabels: Record<string, string>;
  /** A count beside a navigation item: what waits for this user there (e.g. requests to decide). */
  counts?: Record<string, number>;
  switchTeam: (slug: string) => Promise<ActionResult<string>>;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const scope = useScope(props.teams, props.currentTeam);
  const user = { ...props.user, roleLabel: props.roleLabels[scope ?? ALL_TEAMS] ?? props.user.roleLabel };
  const sidebar = (
    <nav aria-label="Main" className="flex h-full flex-col gap-6 px-3 py-4">
      <Link href="/" className="px-2 text-white" onClick={() => setOpen(false)}><Logo /></Link>
      <NavLinks items={props.nav} scope={props.teams.length ? scope : undefined} counts={props.counts ?? {}} onNavigate={() => setOpen(false)} />
    </nav>
  );
  return (
    <div className="min-h-screen lg:grid lg:grid-cols-[15rem_1fr]">
      <a href="#main" className="sr-only z-50 rounded-md bg-white px-3 py-2 text-sm font-medium text-teal-800 shadow focus:not-sr-only focus:fixed focus:top-2 focus:left-2">Skip to content</a>
      <aside className="hidden bg-stone-900 lg:sticky lg:top-0 lg:block lg:h-screen lg:overflow-y-auto">{sidebar}</aside>
      {open && (
        <div className="fixed inset-0 z-40 lg:hidden" role="dialog" aria-modal="true" aria-label="Navigation">
          <button type="button" aria-label="Close navigation" className="absolute inset-0 bg-black/40" onClick={() => setOpen(false)} />
          <aside className="absolute inset-y-0 left-0 w-64 bg-stone-900">{sidebar}</aside>
        </div>
      )}
      <div className="flex min-w-0 flex-col">
        <header className="sticky top-0 z-30 flex items-center gap-3 border-b border-stone-200 bg-white/90 px-4 py-2.5 backdrop-blur sm:px-6">
          <button type="button" className="rounded-md p-1.5 text-stone-700 hover:bg-stone-100 lg:hidden" aria-label="Open navigation" onClick={() => setOpen(true)}>
            <svg aria-hidden viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth={1.8}><path d="M4 6h16M4 12h16M4 18h16" /></svg>
          </button>
          <TeamSwitcher teams={props.teams} scope={scope} switchTeam={props.switchTeam} />
          <div className="flex-1" />
          <UserMenu user={user} />
        </header>
        <main id="main" tabIndex={-1} className="mx-auto w-full max-w-[100rem] flex-1 px-4 py-6 outline-none sm:px-6 lg:px-8">{props.children}</main>
      </div>
    </div>
  );
}
