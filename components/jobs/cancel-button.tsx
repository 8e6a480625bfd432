"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

export function CancelJobButton({ id, cancel }: { id: string; cancel: (input: { id: string }) => Promise<ActionResult<string>> }) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <span className="flex items-center gap-2">
      {error && <span role="alert" className="text-sm text-red-700">{error}</span>}
      <Button
        variant="danger"
        size="sm"
        disabled={pending}
        onClick={() => {
          if (!window.confirm("Cancel this job? Its process is stopped and the run marked killed.")) return;
          startTransition(async () => {
            const r = await cancel({ id });
            if (!r.ok) setError(r.error);
            else router.refresh();
          });
        }}
      >
        Cancel job
      </Button>
    </span>
  );
}
