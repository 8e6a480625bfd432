"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { BudgetExtensionDto } from "@/lib/schemas/costs";
import { Button } from "@/components/ui/button";

/** A team lead's form on the Costs page: raise this month's approval line by an amount, with a reason. */
export function ExtensionForm({ team, grant }: { team: string; grant: (input: { team: string; amount_usd: number; reason: string }) => Promise<ActionResult<BudgetExtensionDto>> }) {
  const router = useRouter();
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [done, setDone] = useState<string>();
  const [pending, startTransition] = useTransition();
  const id = (k: string) => `extension-${team}-${k}`;
  return (
    <form
      aria-label={`Grant ${team} a budget extension`}
      className="space-y-1 rounded-md border border-stone-200 p-2"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await grant({ team, amount_usd: Number(amount), reason });
          if (!r.ok) { setDone(undefined); setError(r.error); setFieldErrors(r.fieldErrors ?? {}); return; }
          setError(undefined);
          setFieldErrors({});
          setDone(`Extension of $${r.data.amount_usd} granted for ${team} this month.`);
          setAmount("");
          setReason("");
          router.refresh();
        });
      }}
    >
      <p className="text-xs font-semibold text-stone-700">Grant an extension (this month)</p>
      <div className="flex flex-wrap gap-2">
        <div>
          <label htmlFor={id("amount")} className="block text-xs text-stone-600">Amount (USD)</label>
          <input id={id("amount")} type="number" min={0.01} step="any" required value={amount} onChange={(e) => setAmount(e.target.value)}
            aria-describedby={fieldErrors.amount_usd ? id("amount-error") : undefined} className="w-28 rounded-md border border-stone-300 px-2 py-1 text-sm" />
          {fieldErrors.amount_usd && <p id={id("amount-error")} className="text-xs text-red-700">{fieldErrors.amount_usd.join(", ")}</p>}
        </div>
        <div className="min-w-40 flex-1">
          <label htmlFor={id("reason")} className="block text-xs text-stone-600">Reason</label>
          <input id={id("reason")} required value={reason} onChange={(e) => setReason(e.target.value)}
            aria-describedby={fieldErrors.reason ? id("reason-error") : undefined} className="w-full rounded-md border border-stone-300 px-2 py-1 text-sm" />
          {fieldErrors.reason && <p id={id("reason-error")} className="text-xs text-red-700">{fieldErrors.reason.join(", ")}</p>}
        </div>
      </div>
      <Button size="sm" type="submit" disabled={pending}>Grant extension</Button>
      {done && <p role="status" className="text-xs text-emerald-800">{done}</p>}
      {error && <p role="alert" className="text-xs text-red-700">{error}</p>}
    </form>
  );
}
