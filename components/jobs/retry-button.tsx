"use client";

import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/action-result";
import { ActionButton } from "@/components/ui/action-button";

/** Runs a finished job again with the same spec and opens the new job. */
export function RetryJobButton({ id, retry }: { id: string; retry: (input: { id: string }) => Promise<ActionResult<string>> }) {
  const router = useRouter();
  return <ActionButton variant="primary" pendingLabel="Submitting…" run={() => retry({ id })} onDone={(job) => router.push(`/jobs/${job}`)}>Retry</ActionButton>;
}
