"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

type Props = {
  experimentId: string;
  archived: boolean;
  setLifecycle: (input: { experimentId: string; stage: "active" | "deleted" }) => Promise<ActionResult<string>>;
};

export function LifecycleButton({ experimentId, archived, setLifecycle }: Props) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <div className="flex items-center gap-2">
      {error && <span role="alert" className="text-sm text-red-700">{error}</span>}
      <Button
        variant={archived ? "secondary" : "danger"}
        size="sm"
        disabled={pending}
        onClick={() => {
          if (!archived && !window.confirm("Archive this experiment and its runs? You can restore it later.")) return;
          startTransition(async () => {
            const r = await setLifecycle({ experimentId, stage: archived ? "active" : "deleted" });
            if (!r.ok) setError(r.error);
            else router.refresh();
          });
        }}
      >
        {archived ? "Restore experiment" : "Archive experiment"}
      </Button>
    </div>
  );
}
