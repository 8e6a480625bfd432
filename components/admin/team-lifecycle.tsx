"use client";

import type { ActionResult } from "@/lib/action-result";
import { ActionButton } from "@/components/ui/action-button";

/** Archive (or restore) a team from the admin console. */
export function TeamLifecycleButton({ slug, archived, setArchived }: { slug: string; archived: boolean; setArchived: (input: { slug: string; archived: boolean }) => Promise<ActionResult<unknown>> }) {
  return (
    <ActionButton
      variant={archived ? "secondary" : "ghost"}
      aria-label={`${archived ? "Restore" : "Archive"} team ${slug}`}
      confirm={archived ? undefined : `Archive ${slug}? Its members and tokens lose access at once; you can restore it later.`}
      run={() => setArchived({ slug, archived: !archived })}
    >
      {archived ? "Restore" : "Archive"}
    </ActionButton>
  );
}
