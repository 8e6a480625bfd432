"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";

const STAGES = ["None", "Staging", "Production", "Archived"] as const;
type Stage = (typeof STAGES)[number];

/** MLflow's legacy stage: a label only. It never moves an alias or deploys anything. */
export function StageSelect({ team, name, version, stage, canEdit, setStage }: {
  team: string;
  name: string;
  version: string;
  stage: string;
  canEdit: boolean;
  setStage: (input: { team: string; name: string; version: string; stage: Stage }) => Promise<ActionResult<string>>;
}) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  if (!canEdit) return <span>{stage}</span>;
  return (
    <span className="inline-flex items-center gap-2">
      <label htmlFor="stage" className="sr-only">Stage (label only)</label>
      <select
        id="stage"
        defaultValue={stage}
        disabled={pending}
        title="A label kept for MLflow compatibility; it does not move aliases or deploy"
        className="rounded-md border border-stone-300 px-2 py-0.5 text-sm"
        onChange={(e) => {
          const next = e.target.value as Stage;
          startTransition(async () => {
            const r = await setStage({ team, name, version, stage: next });
            if (!r.ok) setError(r.error);
            else router.refresh();
          });
        }}
      >
        {STAGES.map((s) => <option key={s} value={s}>{s}</option>)}
      </select>
      {error && <span role="alert" className="text-xs text-red-700">{error}</span>}
    </span>
  );
}
