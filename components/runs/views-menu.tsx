"use client";

import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

export type SavedView = { id: string; name: string; state: { filter: string; order: string; cols: string[] } };

type Props = {
  views: SavedView[];
  current: { filter: string; order: string; cols: string[] };
  onApply: (view: SavedView) => void;
  onSave: (name: string) => Promise<ActionResult<unknown>>;
  onDelete: (id: string) => Promise<ActionResult<unknown>>;
};

export function ViewsMenu({ views, current, onApply, onSave, onDelete }: Props) {
  const [message, setMessage] = useState<string>();
  const [pending, startTransition] = useTransition();
  // Naming a view happens in the page (a small inline form), not in a browser prompt().
  const [naming, setNaming] = useState<string | null>(null);
  const active = views.find((v) => v.state.filter === current.filter && v.state.order === current.order && v.state.cols.join(",") === current.cols.join(","));
  return (
    <div className="flex items-center gap-2">
      <label htmlFor="saved-view" className="text-sm text-stone-600">View</label>
      <select
        id="saved-view"
        value={active?.id ?? ""}
        onChange={(e) => { const v = views.find((x) => x.id === e.target.value); if (v) onApply(v); }}
        className="rounded-md border border-stone-300 bg-white px-2 py-1.5 text-sm"
      >
        <option value="" disabled={views.length > 0}>{views.length ? "Unsaved view" : "No saved views"}</option>
        {views.map((v) => <option key={v.id} value={v.id}>{v.name}</option>)}
      </select>
      {naming === null ? (
        <Button variant="secondary" size="sm" disabled={pending} onClick={() => { setMessage(undefined); setNaming(active?.name ?? ""); }}>
          Save view
        </Button>
      ) : (
        <form
          className="flex items-center gap-1.5"
          aria-label="Save view"
          onSubmit={(e) => {
            e.preventDefault();
            const name = naming.trim();
            if (!name) return setMessage("Give the view a name.");
            startTransition(async () => {
              const r = await onSave(name);
              setMessage(r.ok ? `Saved “${name}”` : r.error);
              if (r.ok) setNaming(null);
            });
          }}
        >
          <label htmlFor="view-name" className="sr-only">View name</label>
          <input
            id="view-name" autoFocus maxLength={100} value={naming} onChange={(e) => setNaming(e.target.value)}
            onKeyDown={(e) => { if (e.key === "Escape") setNaming(null); }}
            placeholder="Name (same name replaces)" className="w-48 rounded-md border border-stone-300 bg-white px-2 py-1 text-sm focus:border-teal-600 focus:outline-none"
          />
          <Button type="submit" size="sm" disabled={pending}>Save</Button>
          <Button type="button" variant="ghost" size="sm" disabled={pending} onClick={() => setNaming(null)}>Cancel</Button>
        </form>
      )}
      {active && (
        <Button variant="ghost" size="sm" disabled={pending} onClick={() => startTransition(async () => { const r = await onDelete(active.id); setMessage(r.ok ? `Deleted “${active.name}”` : r.error); })}>
          Delete view
        </Button>
      )}
      {message && <span role="status" className="text-xs text-stone-600">{message}</span>}
    </div>
  );
}
