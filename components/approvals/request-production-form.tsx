"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

type RequestProduction = (input: { team: string; name: string; version: number; replicas: number; note: string }) => Promise<ActionResult<string>>;

/** "Request production deploy" on a version page: replicas and a note for the lead, then off to the request. */
export function RequestProductionForm({ team, name, version, request }: { team: string; name: string; version: number; request: RequestProduction }) {
  const router = useRouter();
  const [replicas, setReplicas] = useState("1");
  const [note, setNote] = useState("");
  const [errors, setErrors] = useState<{ replicas?: string; note?: string; form?: string }>({});
  const [pending, startTransition] = useTransition();
  return (
    <form
      className="space-y-3"
      aria-label="Request production deploy"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await request({ team, name, version, replicas: Number(replicas), note });
          if (!r.ok) {
            const replicasError = r.fieldErrors?.replicas?.join(" ");
            const noteError = r.fieldErrors?.note?.join(" ");
            return setErrors({ replicas: replicasError, note: noteError, form: replicasError || noteError ? undefined : r.error });
          }
          router.push(`/approvals/${r.data}`);
        });
      }}
    >
      <div>
        <label htmlFor="production-replicas" className="block text-xs text-stone-600">Production replica count</label>
        <input
          id="production-replicas" type="number" min={1} max={20} step={1} value={replicas} onChange={(e) => setReplicas(e.target.value)}
          aria-invalid={errors.replicas ? true : undefined} aria-describedby={errors.replicas ? "production-replicas-error" : undefined}
          className="mt-1 w-20 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm tabular-nums focus:border-teal-600 focus:outline-none"
        />
        {errors.replicas && <p id="production-replicas-error" role="alert" className="mt-1 text-xs text-red-700">{errors.replicas}</p>}
      </div>
      <div>
        <label htmlFor="production-note" className="block text-xs text-stone-600">Note for the team lead</label>
        <textarea
          id="production-note" rows={3} maxLength={4000} value={note} onChange={(e) => setNote(e.target.value)} placeholder="Why this version, what you checked"
          aria-invalid={errors.note ? true : undefined} aria-describedby={errors.note ? "production-note-error" : undefined}
          className="mt-1 block w-full max-w-xl rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm focus:border-teal-600 focus:outline-none"
        />
        {errors.note && <p id="production-note-error" role="alert" className="mt-1 text-xs text-red-700">{errors.note}</p>}
      </div>
      <Button type="submit" size="sm" disabled={pending}>{pending ? "Requesting…" : "Request production deploy"}</Button>
      {errors.form && <p role="alert" className="text-sm text-red-700">{errors.form}</p>}
    </form>
  );
}
