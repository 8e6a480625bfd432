"use client";

import type { ActionResult } from "@/lib/action-result";
import { ActionButton } from "@/components/ui/action-button";

type Props = {
  experimentId: string;
  archived: boolean;
  setLifecycle: (input: { experimentId: string; stage: "active" | "deleted" }) => Promise<ActionResult<string>>;
};

export function LifecycleButton({ experimentId, archived, setLifecycle }: Props) {
  return (
    <ActionButton
      variant={archived ? "secondary" : "danger"}
      confirm={archived ? undefined : "Archive this experiment and its runs? You can restore it later."}
      run={() => setLifecycle({ experimentId, stage: archived ? "active" : "deleted" })}
    >
      {archived ? "Restore experiment" : "Archive experiment"}
    </ActionButton>
  );
}
