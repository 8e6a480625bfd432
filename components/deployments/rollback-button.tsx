"use client";

import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/action-result";
import { ActionButton } from "@/components/ui/action-button";

/** Serves the model's previous version in this environment again, then opens the new deployment. */
export function RollbackButton({ id, rollback }: { id: string; rollback: (input: { id: string }) => Promise<ActionResult<string>> }) {
  const router = useRouter();
  return (
    <ActionButton
      confirm="Roll back? The version this model served before starts as a new deployment, and this one stops once it serves."
      run={() => rollback({ id })} onDone={(next) => router.push(`/deployments/${next}`)} pendingLabel="Rolling back…"
    >
      Roll back
    </ActionButton>
  );
}
