"use client";

import { useRouter } from "next/navigation";
import { useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";

export type TeamOption = { slug: string; name: string; role: string | null };

export function TeamSwitcher({ teams, current, switchTeam }: { teams: TeamOption[]; current?: string; switchTeam: (slug: string) => Promise<ActionResult<string>> }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  if (teams.length === 0) return <span className="text-sm text-stone-500">No team yet — ask a team lead to add you</span>;
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="text-stone-500">Team</span>
      <select
        aria-label="Switch team"
        className="rounded-md border border-stone-300 bg-white px-2 py-1 text-sm font-medium text-stone-800 focus:border-teal-600 focus:outline-none"
        value={current ?? ""}
        disabled={pending}
        onChange={(e) => {
          const slug = e.target.value;
          startTransition(async () => {
            await switchTeam(slug);
            router.refresh();
          });
        }}
      >
        {teams.map((t) => (
          <option key={t.slug} value={t.slug}>{t.name} ({t.slug})</option>
        ))}
      </select>
    </label>
  );
}
