"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

type Decide = (input: { id: string; decision: "approve" | "reject"; comment: string }) => Promise<ActionResult<string>>;

/** A team lead's decision on a pending request: a comment, then approve (the deploy starts) or reject. */
export function DecisionForm({ id, decide }: { id: string; decide: Decide }) {
  const router = useRouter();
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  const [chosen, setChosen] = useState<"approve" | "reject">();
  const submit = (decision: "approve" | "reject") => {
    setChosen(decision);
    startTransition(async () => {
      const r = await decide({ id, decision, comment });
      if (!r.ok) return setError(r.fieldErrors?.comment?.join(" ") ?? r.error);
      setError(undefined);
      router.refresh();
    });
  };
  return (
    <form className="space-y-3" aria-label="Decide" onSubmit={(e) => { e.preventDefault(); submit("approve"); }}>
      <div>
        <label htmlFor="decision-comment" className="block text-sm font-medium text-stone-700">Comment</label>
        <textarea
          id="decision-comment" rows={3} maxLength={4000} value={comment} onChange={(e) => setComment(e.target.value)}
          aria-invalid={error ? true : undefined} aria-describedby={error ? "decision-error" : "decision-hint"}
          className="mt-1 block w-full rounded-md border border-stone-300 bg-white px-3 py-2 text-sm focus:border-teal-600 focus:outline-none"
        />
        {!error && <p id="decision-hint" className="mt-1 text-xs text-stone-500">Kept with the request and in the audit trail; the requester sees it.</p>}
      </div>
      {error && <p id="decision-error" role="alert" className="text-sm text-red-700">{error}</p>}
      <div className="flex flex-wrap gap-2">
        <Button type="submit" disabled={pending}>{pending && chosen === "approve" ? "Approving…" : "Approve and deploy"}</Button>
        <Button variant="danger" disabled={pending} onClick={() => submit("reject")}>{pending && chosen === "reject" ? "Rejecting…" : "Reject"}</Button>
      </div>
    </form>
  );
}
