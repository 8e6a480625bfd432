"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

/** Archive (or restore) a team from the admin console. */
export function TeamLifecycleButton({ slug, archived, setArchived }: { slug: string; archived: boolean; setArchived: (input: { slug: string; archived: boolean }) => Promise<ActionResult<unknown>> }) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <span className="inline-flex items-center gap-2">
      {error && <span role="alert" className="text-xs text-red-700">{error}</span>}
      <Button
        size="sm"
        variant={archived ? "secondary" : "ghost"}
        disabled={pending}
        aria-label={`${archived ? "Restore" : "Archive"} team ${slug}`}
        onClick={() => {
          if (!archived && !window.confirm(`Archive ${slug}? Its members and tokens lose access at once; you can restore it later.`)) return;
          startTransition(async () => {
            const r = await setArchived({ slug, archived: !archived });
            if (!r.ok) setError(r.error);
            else { setError(undefined); router.refresh(); }
          });
        }}
      >
        {archived ? "Restore" : "Archive"}
      </Button>
    </span>
  );
}
