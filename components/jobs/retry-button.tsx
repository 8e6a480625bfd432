"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

/** Runs a finished job again with the same spec and opens the new job. */
export function RetryJobButton({ id, retry }: { id: string; retry: (input: { id: string }) => Promise<ActionResult<string>> }) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <span className="flex items-center gap-2">
      {error && <span role="alert" className="max-w-md text-sm text-red-700">{error}</span>}
      <Button
        variant="primary"
        size="sm"
        disabled={pending}
        onClick={() => startTransition(async () => {
          const r = await retry({ id });
          if (!r.ok) setError(r.error);
          else router.push(`/jobs/${r.data}`);
        })}
      >
        {pending ? "Submitting…" : "Retry"}
      </Button>
    </span>
  );
}
