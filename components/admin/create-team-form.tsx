"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { CreateTeamInput, QuotaDto } from "@/lib/schemas/teams";
import { Button } from "@/components/ui/button";
import { FormError, TextField } from "@/components/ui/field";

type QuotaField = "cpu" | "memory_gib" | "gpus" | "max_concurrent_jobs" | "max_deployments" | "max_replicas" | "storage_gib" | "monthly_budget_usd";
const QUOTA_FIELDS: [QuotaField, string, string][] = [
  ["cpu", "CPU (cores)", "any"], ["memory_gib", "Memory (GiB)", "any"], ["gpus", "GPUs", "1"], ["max_concurrent_jobs", "Concurrent jobs", "1"],
  ["max_deployments", "Deployments", "1"], ["max_replicas", "Model replicas", "1"], ["storage_gib", "Artifact storage (GiB)", "any"], ["monthly_budget_usd", "Monthly budget (USD)", "any"],
];

/** Creates a team with its quota (the platform's defaults prefilled), then links to it. */
export function CreateTeamForm({ createTeam, defaults }: { createTeam: (input: CreateTeamInput) => Promise<ActionResult<{ slug: string; name: string }>>; defaults: Pick<QuotaDto, QuotaField> }) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [created, setCreated] = useState<{ slug: string; name: string }>();
  const [pending, startTransition] = useTransition();

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const value = (k: QuotaField) => String(data.get(`team-quota-${k}`) ?? "").trim();
    const quota = Object.fromEntries(QUOTA_FIELDS.map(([k]) => [k, value(k) === "" ? (k === "storage_gib" ? null : Number.NaN) : Number(value(k))]));
    startTransition(async () => {
      const result = await createTeam({ slug: String(data.get("slug") ?? ""), name: String(data.get("name") ?? ""), quota: quota as unknown as CreateTeamInput["quota"] });
      if (!result.ok) {
        setError(result.error);
        setFieldErrors(result.fieldErrors ?? {});
        setCreated(undefined);
        return;
      }
      setError(undefined);
      setFieldErrors({});
      setCreated(result.data);
      form.reset();
      router.refresh();
    });
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" noValidate aria-label="Create team">
      <FormError message={error} />
      {created && (
        <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
          Team {created.slug} created. <Link href={`/teams/${created.slug}`} className="font-medium underline">Open {created.name}</Link> to add members.
        </p>
      )}
      <TextField id="name" label="Name" placeholder="Recommendations" required error={fieldErrors.name} />
      <TextField id="slug" label="Slug" placeholder="recs" required error={fieldErrors.slug} hint="Lowercase letters, digits, dashes. Names the namespace cairn-<slug>." />
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium text-stone-700">Quota</legend>
        <p className="text-xs text-stone-500">The platform&apos;s defaults; change them now or later on the team&apos;s page. Leave storage empty for no limit.</p>
        <div className="grid grid-cols-2 gap-2">
          {QUOTA_FIELDS.map(([k, label, step]) => (
            <TextField key={k} id={`team-quota-${k}`} label={label} type="number" min={0} step={step} defaultValue={defaults[k] ?? ""} error={fieldErrors[`quota.${k}`]} />
          ))}
        </div>
      </fieldset>
      <Button type="submit" disabled={pending}>{pending ? "Creating…" : "Create team"}</Button>
    </form>
  );
}
