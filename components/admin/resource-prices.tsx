"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { ResourcePriceInput } from "@/lib/schemas/costs";
import { Button } from "@/components/ui/button";
import { FormError, SelectField, TextField } from "@/components/ui/field";

type Save = (input: ResourcePriceInput) => Promise<ActionResult<unknown>>;

/** Sets one resource kind's price (GPU: per GPU type, or any type when left empty); applies to time metered from now on. */
export function ResourcePriceForm({ save }: { save: Save }) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [done, setDone] = useState<string>();
  const [pending, startTransition] = useTransition();
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const kind = String(data.get("rp-kind")) as ResourcePriceInput["kind"];
    const gpuType = String(data.get("rp-gpu-type") ?? "").trim();
    const raw = String(data.get("rp-price") ?? "").trim();
    const input: ResourcePriceInput = { kind, unit_price_usd: raw === "" ? Number.NaN : Number(raw), ...(gpuType ? { gpu_type: gpuType } : {}) };
    startTransition(async () => {
      const r = await save(input);
      if (!r.ok) {
        setDone(undefined);
        setError(r.error);
        setFieldErrors(r.fieldErrors ?? {});
        return;
      }
      setError(undefined);
      setFieldErrors({});
      setDone(`Saved the ${kind}${gpuType ? ` (${gpuType})` : ""} price; it applies to time metered from now on.`);
      form.reset();
      router.refresh();
    });
  }
  return (
    <form onSubmit={onSubmit} className="space-y-3" aria-label="Resource price" noValidate>
      <FormError message={error} />
      {done && <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">{done}</p>}
      <div className="grid grid-cols-2 gap-2">
        <SelectField id="rp-kind" label="Resource" defaultValue="cpu" error={fieldErrors.kind}>
          <option value="cpu">CPU (per core-hour)</option>
          <option value="memory">Memory (per GiB-hour)</option>
          <option value="gpu">GPU (per GPU-hour)</option>
          <option value="storage">Storage (per GiB-month)</option>
        </SelectField>
        <TextField id="rp-gpu-type" label="GPU type" placeholder="nvidia-a100" error={fieldErrors.gpu_type} hint="GPU only; empty: any type without its own price." />
      </div>
      <TextField id="rp-price" label="Price (USD)" type="number" step="any" min={0} required error={fieldErrors.unit_price_usd} />
      <Button type="submit" disabled={pending}>{pending ? "Saving…" : "Save price"}</Button>
    </form>
  );
}
