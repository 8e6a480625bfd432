"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { ALL_TEAMS, scopedHref, scopedSection } from "@/lib/team-scope";

export type TeamOption = { slug: string; name: string; role: string | null };

/**
 * The team scope of the portal: what the lists show. The choice is remembered (a cookie: the team one works
 * in) and written into the address of the list pages (?team=), so a link opens the same scope. "All my
 * teams" scopes the lists only.
 */
export function TeamSwitcher({ teams, scope, switchTeam }: { teams: TeamOption[]; scope: string | null; switchTeam: (slug: string) => Promise<ActionResult<string>> }) {
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const [pending, startTransition] = useTransition();
  if (teams.length === 0) return <span className="text-sm text-stone-500">No team yet — ask a team lead to add you</span>;
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="text-stone-500">Team</span>
      <select
        aria-label="Switch team"
        className="rounded-md border border-stone-300 bg-white px-2 py-1 text-sm font-medium text-stone-800 focus:border-teal-600 focus:outline-none"
        value={scope ?? ALL_TEAMS}
        disabled={pending}
        onChange={(e) => {
          const slug = e.target.value;
          startTransition(async () => {
            if (slug !== ALL_TEAMS) await switchTeam(slug);
            // On a list (or a page under one), show that list in the new scope; elsewhere the page refreshes.
            const section = scopedSection(pathname);
            if (section) router.push(scopedHref(section, section === pathname ? searchParams.toString() : "", slug === ALL_TEAMS ? null : slug));
            else router.refresh();
          });
        }}
      >
        {teams.map((t) => (
          <option key={t.slug} value={t.slug}>{t.name} ({t.slug})</option>
        ))}
        {teams.length > 1 && <option value={ALL_TEAMS}>All my teams</option>}
      </select>
    </label>
  );
}
