"use client";

import Link from "next/link";
import { useId, useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { modelHref } from "@/lib/registry-links";
import { Button } from "@/components/ui/button";

export type RegisterModelAction = (input: { runId: string; path: string; name: string }) => Promise<ActionResult<{ name: string; version: string; team: string }>>;

/** "Register model" for a model folder of a run: a new model, or a new version of an existing one. */
export function RegisterModel({ runId, path, modelNames, register }: { runId: string; path: string; modelNames: string[]; register: RegisterModelAction }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<{ name: string; version: string; team: string }>();
  const [pending, startTransition] = useTransition();
  if (done) {
    return (
      <p role="status" className="text-sm text-emerald-800">
        Registered <Link href={modelHref(done.team, done.name, done.version)} className="font-medium underline">{done.name} version {done.version}</Link>.
      </p>
    );
  }
  if (!open) return <Button size="sm" variant="secondary" onClick={() => setOpen(true)}>Register model</Button>;
  return (
    <form
      className="flex flex-wrap items-end gap-2 rounded-md border border-stone-200 bg-stone-50 p-2"
      aria-label="Register model"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await register({ runId, path, name: name.trim() });
          if (!r.ok) setError(r.fieldErrors?.name?.[0] ?? r.error);
          else { setError(undefined); setDone(r.data); }
        });
      }}
    >
      <div>
        <label htmlFor={id} className="block text-xs text-stone-600">Model name (new or existing)</label>
        <input id={id} list={`${id}-names`} value={name} onChange={(e) => setName(e.target.value)} required className="mt-1 w-56 rounded-md border border-stone-300 bg-white px-2 py-1 text-sm" />
        <datalist id={`${id}-names`}>{modelNames.map((n) => <option key={n} value={n} />)}</datalist>
      </div>
      <span className="pb-1.5 font-mono text-xs text-stone-600">from {path ? `${path}/` : "the run's artifact root"}</span>
      <Button size="sm" type="submit" disabled={pending}>Register</Button>
      <Button size="sm" type="button" variant="ghost" onClick={() => setOpen(false)}>Cancel</Button>
      {error && <p role="alert" className="w-full text-sm text-red-700">{error}</p>}
    </form>
  );
}
