"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { InstanceTypeInput } from "@/lib/schemas/instance-types";
import { ActionButton } from "@/components/ui/action-button";
import { Button } from "@/components/ui/button";
import { FormError, TextField } from "@/components/ui/field";

type Save = (input: { name: string; type: InstanceTypeInput }) => Promise<ActionResult<unknown>>;

/** Adds an instance type to the catalog, or changes one (same name). Past and queued jobs keep their price. */
export function InstanceTypeForm({ save }: { save: Save }) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [done, setDone] = useState<string>();
  const [pending, startTransition] = useTransition();
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const num = (k: string) => (String(data.get(k) ?? "").trim() === "" ? Number.NaN : Number(data.get(k)));
    const gpuType = String(data.get("it-gpu-type") ?? "").trim();
    const name = String(data.get("it-name") ?? "").trim();
    const type = { cpu: num("it-cpu"), memory_gib: num("it-memory"), gpu_count: String(data.get("it-gpus") ?? "").trim() === "" ? 0 : num("it-gpus"), gpu_type: gpuType || null, hourly_price_usd: num("it-price") };
    startTransition(async () => {
      const r = await save({ name, type });
      if (!r.ok) {
        setDone(undefined);
        setError(r.error);
        setFieldErrors(Object.fromEntries(Object.entries(r.fieldErrors ?? {}).map(([k, v]) => [k.replace(/^type\./, ""), v])));
        return;
      }
      setError(undefined);
      setFieldErrors({});
      setDone(`Saved ${name}; new jobs use it from now on.`);
      form.reset();
      router.refresh();
    });
  }
  return (
    <form onSubmit={onSubmit} className="space-y-3" aria-label="Instance type" noValidate>
      <FormError message={error} />
      {done && <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">{done}</p>}
      <TextField id="it-name" label="Instance type" placeholder="cpu.medium" required error={fieldErrors.name} hint="An existing name changes that type." />
      <div className="grid grid-cols-2 gap-2">
        <TextField id="it-cpu" label="CPU (cores)" type="number" step="any" min={0} required error={fieldErrors.cpu} />
        <TextField id="it-memory" label="Memory (GiB)" type="number" step="any" min={0} required error={fieldErrors.memory_gib} />
        <TextField id="it-gpus" label="GPUs" type="number" min={0} step={1} error={fieldErrors.gpu_count} />
        <TextField id="it-gpu-type" label="GPU type" placeholder="nvidia-a100" error={fieldErrors.gpu_type} />
      </div>
      <TextField id="it-price" label="Price per hour (USD)" type="number" step="any" min={0} required error={fieldErrors.hourly_price_usd} />
      <Button type="submit" disabled={pending}>{pending ? "Saving…" : "Save instance type"}</Button>
    </form>
  );
}

/** Removes an instance type from the catalog. */
export function DeleteInstanceTypeButton({ name, remove }: { name: string; remove: (input: { name: string }) => Promise<ActionResult<unknown>> }) {
  return (
    <ActionButton
      variant="ghost"
      aria-label={`Remove instance type ${name}`}
      confirm={`Remove ${name} from the catalog? Jobs already submitted with it keep their resources and price.`}
      run={() => remove({ name })}
    >
      Remove
    </ActionButton>
  );
}
