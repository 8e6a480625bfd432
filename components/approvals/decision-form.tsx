"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

type Decide = (input: { id: string; decision: "approve" | "reject"; comment: string }) => Promise<ActionResult<string>>;

export const REJECT_NEEDS_REASON = "Give the reason for rejecting: the requester reads it, and it stays in the audit trail.";

/**
 * A team lead's decision on a pending request, placed after the evidence: a comment (the reason, required to
 * reject), then approve or reject — each asks for confirmation, naming what it will do, before it is sent.
 */
export function DecisionForm({ id, decide, what }: { id: string; decide: Decide; /** e.g. "churn-classifier v4 with 2 replicas" */ what: string }) {
  const router = useRouter();
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  const [confirming, setConfirming] = useState<"approve" | "reject">();
  const ask = (decision: "approve" | "reject") => {
    if (decision === "reject" && !comment.trim()) {
      setConfirming(undefined);
      return setError(REJECT_NEEDS_REASON);
    }
    setError(undefined);
    setConfirming(decision);
  };
  const send = (decision: "approve" | "reject") => {
    startTransition(async () => {
      const r = await decide({ id, decision, comment });
      if (!r.ok) {
        setConfirming(undefined);
        return setError(r.fieldErrors?.comment?.join(" ") ?? r.error);
      }
      setError(undefined);
      setConfirming(undefined);
      router.refresh();
    });
  };
  return (
    <form className="space-y-3" aria-label="Decide" onSubmit={(e) => { e.preventDefault(); ask("approve"); }}>
      <div>
        <label htmlFor="decision-comment" className="block text-sm font-medium text-stone-700">Comment</label>
        <textarea
          id="decision-comment" rows={3} maxLength={4000} value={comment} onChange={(e) => setComment(e.target.value)}
          aria-invalid={error ? true : undefined} aria-describedby={error ? "decision-error" : "decision-hint"}
          className="mt-1 block w-full rounded-md border border-stone-300 bg-white px-3 py-2 text-sm focus:border-teal-600 focus:outline-none"
        />
        {!error && <p id="decision-hint" className="mt-1 text-xs text-stone-500">Kept with the request and in the audit trail; the requester sees it. Required to reject.</p>}
      </div>
      {error && <p id="decision-error" role="alert" className="text-sm text-red-700">{error}</p>}
      {confirming ? (
        <div role="alertdialog" aria-label={confirming === "approve" ? "Confirm approval" : "Confirm rejection"} className={`space-y-2 rounded-md border p-3 text-sm ${confirming === "approve" ? "border-teal-300 bg-teal-50 text-teal-950" : "border-red-200 bg-red-50 text-red-950"}`}>
          <p>
            {confirming === "approve"
              ? <>Approve and deploy {what} to production? The deployment starts now; production switches to it once it is ready.</>
              : <>Reject the request for {what}? Nothing is deployed, and the requester sees your reason.</>}
          </p>
          <div className="flex flex-wrap gap-2">
            <Button type="button" variant={confirming === "approve" ? "primary" : "danger"} disabled={pending} onClick={() => send(confirming)}>
              {pending ? (confirming === "approve" ? "Approving…" : "Rejecting…") : confirming === "approve" ? "Yes, approve and deploy" : "Yes, reject"}
            </Button>
            <Button type="button" variant="secondary" disabled={pending} onClick={() => setConfirming(undefined)}>Back</Button>
          </div>
        </div>
      ) : (
        <div className="flex flex-wrap gap-2">
          <Button type="submit">Approve and deploy</Button>
          <Button type="button" variant="danger" onClick={() => ask("reject")}>Reject</Button>
        </div>
      )}
    </form>
  );
}
