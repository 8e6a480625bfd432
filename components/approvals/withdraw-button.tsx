"use client";

import type { ActionResult } from "@/lib/action-result";
import { ActionButton } from "@/components/ui/action-button";

/** The requester takes back a pending request. */
export function WithdrawButton({ id, label, withdraw }: { id: string; label: string; withdraw: (input: { id: string }) => Promise<ActionResult<string>> }) {
  return (
    <ActionButton variant="danger" confirm={`Withdraw the production request for ${label}? Nothing is deployed; ask again at any time.`} run={() => withdraw({ id })} pendingLabel="Withdrawing…">
      Withdraw request
    </ActionButton>
  );
}
