"use client";

import type { ActionResult } from "@/lib/action-result";
import { ActionButton } from "@/components/ui/action-button";

export function CancelJobButton({ id, cancel }: { id: string; cancel: (input: { id: string }) => Promise<ActionResult<string>> }) {
  return <ActionButton variant="danger" confirm="Cancel this job? Its process is stopped and the run marked killed." run={() => cancel({ id })}>Cancel job</ActionButton>;
}
