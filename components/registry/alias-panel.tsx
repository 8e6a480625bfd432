"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { modelHref } from "@/lib/registry-links";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";

type Props = {
  team: string;
  name: string;
  aliases: Record<string, number>;
  protectedAliases: string[];
  versions: number[];
  canEdit: boolean;
  setAlias: (input: { team: string; name: string; alias: string; version: string }) => Promise<ActionResult<string>>;
  deleteAlias: (input: { team: string; name: string; alias: string }) => Promise<ActionResult<string>>;
};

/** The model's aliases; members move unprotected ones here, protected ones move only by approval. */
export function AliasPanel({ team, name, aliases, protectedAliases, versions, canEdit, setAlias, deleteAlias }: Props) {
  const router = useRouter();
  const [alias, setAliasName] = useState("");
  const [version, setVersion] = useState(String(versions[0] ?? ""));
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  const isProtected = (a: string) => protectedAliases.some((p) => p.toLowerCase() === a.trim().toLowerCase());
  const protectedMessage = (a: string) =>
    `The alias '${a}' is protected in team ${team}: it moves only when a team lead approves a production deployment.`;
  const run = (call: () => Promise<ActionResult<string>>) =>
    startTransition(async () => {
      const r = await call();
      if (!r.ok) { setError(r.error); return; }
      setError(undefined);
      setAliasName("");
      router.refresh();
    });
  return (
    <div className="space-y-3">
      <ul className="space-y-1.5" aria-label="Aliases">
        {Object.keys(aliases).length === 0 && <li className="text-sm text-stone-500">No aliases yet.</li>}
        {Object.entries(aliases).map(([a, v]) => (
          <li key={a} className="flex items-center justify-between gap-2 text-sm">
            <span className="flex items-center gap-2">
              <Badge tone={isProtected(a) ? "green" : "teal"}>@{a}</Badge>
              <Link href={modelHref(team, name, v)} className="text-teal-800 hover:underline">version {v}</Link>
              {isProtected(a) && <span className="text-xs text-stone-500" title="Moves only through the production approval workflow">protected</span>}
            </span>
            {canEdit && !isProtected(a) && (
              <Button size="sm" variant="ghost" disabled={pending} aria-label={`Remove alias ${a}`} onClick={() => run(() => deleteAlias({ team, name, alias: a }))}>Remove</Button>
            )}
          </li>
        ))}
      </ul>
      {canEdit && versions.length > 0 && (
        <form
          className="flex flex-wrap items-end gap-2 border-t border-stone-100 pt-3"
          aria-label="Set alias"
          onSubmit={(e) => {
            e.preventDefault();
            if (isProtected(alias)) { setError(protectedMessage(alias.trim())); return; }
            run(() => setAlias({ team, name, alias: alias.trim(), version }));
          }}
        >
          <div>
            <label htmlFor="alias-name" className="block text-xs text-stone-600">Alias</label>
            <input id="alias-name" value={alias} onChange={(e) => setAliasName(e.target.value)} placeholder="champion" required className="mt-1 w-36 rounded-md border border-stone-300 px-2 py-1 text-sm" />
          </div>
          <div>
            <label htmlFor="alias-version" className="block text-xs text-stone-600">Version</label>
            <select id="alias-version" value={version} onChange={(e) => setVersion(e.target.value)} className="mt-1 rounded-md border border-stone-300 px-2 py-1 text-sm">
              {versions.map((v) => <option key={v} value={v}>{v}</option>)}
            </select>
          </div>
          <Button size="sm" type="submit" disabled={pending}>Set alias</Button>
        </form>
      )}
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
    </div>
  );
}
