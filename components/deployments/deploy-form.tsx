"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

type Deploy = (input: { team: string; name: string; version: number; replicas: number }) => Promise<ActionResult<string>>;

/** "Deploy to staging" on a version page: how many replicas, then off to the new deployment's page. */
export function DeployForm({ team, name, version, deploy }: { team: string; name: string; version: number; deploy: Deploy }) {
  const router = useRouter();
  const [replicas, setReplicas] = useState("1");
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <form
      className="flex flex-wrap items-end gap-3"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await deploy({ team, name, version, replicas: Number(replicas) });
          if (!r.ok) return setError(r.fieldErrors?.replicas?.join(" ") ?? r.error);
          router.push(`/deployments/${r.data}`);
        });
      }}
    >
      <div>
        <label htmlFor="deploy-replicas" className="block text-xs text-stone-600">Replicas</label>
        <input
          id="deploy-replicas" type="number" min={1} max={20} step={1} value={replicas} onChange={(e) => setReplicas(e.target.value)}
          aria-invalid={error ? true : undefined} aria-describedby={error ? "deploy-error" : undefined}
          className="mt-1 w-20 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm tabular-nums focus:border-teal-600 focus:outline-none"
        />
      </div>
      <Button type="submit" size="sm" disabled={pending}>{pending ? "Deploying…" : "Deploy to staging"}</Button>
      {error && <p id="deploy-error" role="alert" className="w-full text-sm text-red-700">{error}</p>}
    </form>
  );
}
