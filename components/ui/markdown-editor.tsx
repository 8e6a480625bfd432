"use client";

import { useRouter } from "next/navigation";
import { useId, useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";
import { Markdown } from "@/components/ui/markdown";

/**
 * Markdown text shown rendered, with an editor for those who may change it (run notes, model and
 * version descriptions). `save` is a server action taking the target and the new text.
 */
export function MarkdownEditor<T>({ target, value, canEdit, save, noun }: {
  target: T;
  value: string;
  canEdit: boolean;
  save: (input: { target: T; text: string }) => Promise<ActionResult<unknown>>;
  /** "notes" or "description": used in the labels ("Edit notes", "Save description"). */
  noun: string;
}) {
  const router = useRouter();
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(value);
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  if (!editing) {
    return (
      <div className="space-y-2">
        {value ? <Markdown text={value} /> : <p className="text-sm text-stone-500">No {noun} yet.</p>}
        {canEdit && <Button variant="secondary" size="sm" onClick={() => setEditing(true)}>{value ? `Edit ${noun}` : `Add ${noun}`}</Button>}
      </div>
    );
  }
  return (
    <div className="space-y-2">
      <label htmlFor={id} className="sr-only">{`${noun[0]!.toUpperCase()}${noun.slice(1)} (markdown)`}</label>
      <textarea id={id} value={text} onChange={(e) => setText(e.target.value)} rows={8} className="w-full rounded-md border border-stone-300 p-2 font-mono text-sm" />
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
      <div className="flex gap-2">
        <Button size="sm" disabled={pending} onClick={() => startTransition(async () => {
          const r = await save({ target, text });
          if (!r.ok) { setError(r.error); return; }
          setError(undefined);
          setEditing(false);
          router.refresh();
        })}>{`Save ${noun}`}</Button>
        <Button size="sm" variant="ghost" onClick={() => { setText(value); setError(undefined); setEditing(false); }}>Cancel</Button>
      </div>
    </div>
  );
}
