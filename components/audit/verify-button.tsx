"use client";

import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { AuditVerifyDto } from "@/lib/schemas/audit";
import { Button } from "@/components/ui/button";

export function VerifyButton({ verify }: { verify: (input: undefined) => Promise<ActionResult<AuditVerifyDto>> }) {
  const [result, setResult] = useState<ActionResult<AuditVerifyDto> | null>(null);
  const [pending, startTransition] = useTransition();
  return (
    <div className="flex items-center gap-3">
      {result && (
        <span role="status" className={result.ok && result.data.ok ? "text-sm text-emerald-800" : "text-sm text-red-700"} data-testid="verify-result">
          {!result.ok
            ? result.error
            : result.data.ok
              ? `Chain intact: ${result.data.checked} ${result.data.scope === "all" ? "events" : "events of your teams"} verified${result.data.anchor === "matched" ? ", head matches the anchor" : ""}`
              : `Chain broken${result.data.first_broken_id !== null ? ` at event #${result.data.first_broken_id}` : ""}: ${result.data.problem ?? "see the server log"}`}
        </span>
      )}
      <Button variant="secondary" disabled={pending} onClick={() => startTransition(async () => setResult(await verify(undefined)))}>
        {pending ? "Verifying…" : "Verify chain"}
      </Button>
    </div>
  );
}
