"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { CreateTeamInput } from "@/lib/schemas/teams";
import { Button } from "@/components/ui/button";
import { FormError, TextField } from "@/components/ui/field";

export function CreateTeamForm({ createTeam }: { createTeam: (input: CreateTeamInput) => Promise<ActionResult<string>> }) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [done, setDone] = useState<string>();
  const [pending, startTransition] = useTransition();

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    startTransition(async () => {
      const result = await createTeam({ slug: String(data.get("slug") ?? ""), name: String(data.get("name") ?? "") });
      if (!result.ok) {
        setError(result.error);
        setFieldErrors(result.fieldErrors ?? {});
        setDone(undefined);
        return;
      }
      setError(undefined);
      setFieldErrors({});
      setDone(`Team ${result.data} created with the default quota.`);
      form.reset();
      router.refresh();
    });
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" noValidate>
      <FormError message={error} />
      {done && <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">{done}</p>}
      <TextField id="name" label="Name" placeholder="Recommendations" required error={fieldErrors.name} />
      <TextField id="slug" label="Slug" placeholder="recs" required error={fieldErrors.slug} hint="Lowercase letters, digits, dashes. Names the namespace cairn-<slug>." />
      <Button type="submit" disabled={pending}>{pending ? "Creating…" : "Create team"}</Button>
    </form>
  );
}
