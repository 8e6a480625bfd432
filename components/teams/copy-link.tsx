"use client";

import { useState } from "react";
import { Button } from "@/components/ui/button";

/** A read-only link with a Copy button (the text stays selectable where the clipboard is not available). */
export function CopyLink({ url, label }: { url: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="flex flex-wrap items-center gap-2">
      <input readOnly value={url} aria-label={label} onFocus={(e) => e.currentTarget.select()} className="min-w-0 flex-1 rounded-md border border-stone-300 bg-white px-2 py-1 font-mono text-xs" />
      <Button size="sm" variant="secondary" onClick={async () => {
        try {
          await navigator.clipboard.writeText(url);
          setCopied(true);
        } catch {
          setCopied(false);
        }
      }}>{copied ? "Copied" : "Copy link"}</Button>
    </div>
  );
}
