"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { CreateExperimentBody } from "@/lib/schemas/experiments";
import { Button } from "@/components/ui/button";
import { FormError, SelectField, TextField } from "@/components/ui/field";

type Props = { createExperiment: (input: CreateExperimentBody) => Promise<ActionResult<string>>; teams: string[]; defaultTeam?: string };

export function NewExperimentForm({ createExperiment, teams, defaultTeam }: Props) {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [pending, startTransition] = useTransition();
  if (teams.length === 0) return null;
  if (!open) return <Button onClick={() => setOpen(true)}>New experiment</Button>;

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    startTransition(async () => {
      const result = await createExperiment({
        name: String(data.get("experiment-name") ?? ""),
        description: String(data.get("experiment-description") ?? "") || undefined,
        team: String(data.get("experiment-team") ?? "") || undefined,
      });
      if (!result.ok) {
        setError(result.error);
        setFieldErrors(result.fieldErrors ?? {});
        return;
      }
      router.push(`/experiments/${result.data}`);
    });
  }

  return (
    <form onSubmit={onSubmit} className="w-full max-w-md space-y-3 rounded-lg border border-stone-200 bg-white p-4 shadow-sm" aria-label="New experiment" noValidate>
      <FormError message={error} />
      <TextField id="experiment-name" label="Experiment name" required autoFocus error={fieldErrors.name} />
      <TextField id="experiment-description" label="Description (optional)" error={fieldErrors.description} />
      {teams.length > 1 && (
        <SelectField id="experiment-team" label="Team" defaultValue={defaultTeam}>
          {teams.map((t) => <option key={t} value={t}>{t}</option>)}
        </SelectField>
      )}
      {teams.length === 1 && <input type="hidden" name="experiment-team" value={teams[0]} />}
      <div className="flex gap-2">
        <Button type="submit" disabled={pending}>{pending ? "Creating…" : "Create experiment"}</Button>
        <Button variant="ghost" onClick={() => setOpen(false)}>Cancel</Button>
      </div>
    </form>
  );
}
