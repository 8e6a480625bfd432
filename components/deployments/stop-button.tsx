"use client";

import type { ActionResult } from "@/lib/action-result";
import { ActionButton } from "@/components/ui/action-button";

export function StopDeploymentButton({ id, label, stop }: { id: string; label: string; stop: (input: { id: string }) => Promise<ActionResult<string>> }) {
  return (
    <ActionButton variant="danger" confirm={`Stop ${label}? Its replicas end and its endpoint stops answering.`} run={() => stop({ id })} aria-label={`Stop ${label}`}>
      Stop
    </ActionButton>
  );
}
