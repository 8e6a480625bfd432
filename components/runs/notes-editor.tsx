"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";
import { Markdown } from "@/components/ui/markdown";

export function NotesEditor({ runId, notes, canEdit, saveNotes }: { runId: string; notes: string; canEdit: boolean; saveNotes: (input: { runId: string; notes: string }) => Promise<ActionResult<unknown>> }) {
  const router = useRouter();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(notes);
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  if (!editing) {
    return (
      <div className="space-y-2">
        {notes ? <Markdown text={notes} /> : <p className="text-sm text-stone-500">No notes yet.</p>}
        {canEdit && <Button variant="secondary" size="sm" onClick={() => setEditing(true)}>{notes ? "Edit notes" : "Add notes"}</Button>}
      </div>
    );
  }
  return (
    <div className="space-y-2">
      <label htmlFor="run-notes" className="sr-only">Notes (markdown)</label>
      <textarea id="run-notes" value={text} onChange={(e) => setText(e.target.value)} rows={8} className="w-full rounded-md border border-stone-300 p-2 font-mono text-sm" />
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
      <div className="flex gap-2">
        <Button size="sm" disabled={pending} onClick={() => startTransition(async () => {
          const r = await saveNotes({ runId, notes: text });
          if (!r.ok) { setError(r.error); return; }
          setEditing(false);
          router.refresh();
        })}>Save notes</Button>
        <Button size="sm" variant="ghost" onClick={() => { setText(notes); setEditing(false); }}>Cancel</Button>
      </div>
    </div>
  );
}
