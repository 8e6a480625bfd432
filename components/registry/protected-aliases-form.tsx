"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";

/** A team's protected aliases: moved only by an approved production deployment. Leads edit the list. */
export function ProtectedAliasesForm({ team, aliases, canEdit, save }: {
  team: string;
  aliases: string[];
  canEdit: boolean;
  save: (input: { team: string; protected_aliases: string[] }) => Promise<ActionResult<string[]>>;
}) {
  const router = useRouter();
  const [text, setText] = useState(aliases.join(", "));
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <div className="space-y-2 text-sm">
      <p className="text-stone-600">Protected aliases move only when a team lead approves a production deployment; nobody sets them by hand.</p>
      <div className="flex flex-wrap gap-1" aria-label="Protected aliases">{aliases.map((a) => <Badge key={a} tone="green">@{a}</Badge>)}</div>
      {canEdit && (
        <form
          className="flex flex-wrap items-end gap-2"
          aria-label="Protected aliases"
          onSubmit={(e) => {
            e.preventDefault();
            const list = text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
            startTransition(async () => {
              const r = await save({ team, protected_aliases: list });
              if (!r.ok) setError(r.fieldErrors ? Object.values(r.fieldErrors).flat().join("; ") : r.error);
              else { setError(undefined); setText(r.data.join(", ")); router.refresh(); }
            });
          }}
        >
          <div>
            <label htmlFor="protected-aliases" className="block text-xs text-stone-600">Aliases (comma-separated; production always included)</label>
            <input id="protected-aliases" value={text} onChange={(e) => setText(e.target.value)} className="mt-1 w-64 rounded-md border border-stone-300 px-2 py-1 text-sm" />
          </div>
          <Button size="sm" type="submit" disabled={pending}>Save</Button>
        </form>
      )}
      {error && <p role="alert" className="text-red-700">{error}</p>}
    </div>
  );
}
