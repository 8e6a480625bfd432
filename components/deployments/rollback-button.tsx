"use client";

import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/action-result";
import { ActionButton } from "@/components/ui/action-button";

/** Serves the model's previous version in this environment again, then opens the new deployment. */
export function RollbackButton({ id, to, production, rollback }: { id: string; to: number; production: boolean; rollback: (input: { id: string }) => Promise<ActionResult<string>> }) {
  const router = useRouter();
  const confirm = `Roll back to version ${to}? It starts as a new deployment with the same replicas, and this one stops once it serves.${production ? ` @production moves back to version ${to} then — no new approval, since it was approved when it went out.` : ""}`;
  return (
    <ActionButton confirm={confirm} run={() => rollback({ id })} onDone={(next) => router.push(`/deployments/${next}`)} pendingLabel="Rolling back…">
      Roll back to v{to}
    </ActionButton>
  );
}
