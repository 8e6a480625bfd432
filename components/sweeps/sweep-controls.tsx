"use client";

// Pause / resume / stop a sweep, and register its best trial's model in one step.
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { ActionButton } from "@/components/ui/action-button";
import { Button } from "@/components/ui/button";
import { TextField } from "@/components/ui/field";
import type { ActionResult } from "@/lib/action-result";

type Control = (input: { id: string; action: "pause" | "resume" | "stop" }) => Promise<ActionResult<string>>;

export function SweepControls({ id, state, control }: { id: string; state: string; control: Control }) {
  return (
    <>
      {state === "running" && <ActionButton run={() => control({ id, action: "pause" })}>Pause</ActionButton>}
      {state === "paused" && <ActionButton variant="primary" run={() => control({ id, action: "resume" })}>Resume</ActionButton>}
      {(state === "running" || state === "paused") && (
        <ActionButton variant="danger" confirm="Stop this sweep? Its waiting and running trials are cancelled; finished ones stay." run={() => control({ id, action: "stop" })}>Stop</ActionButton>
      )}
    </>
  );
}

export function RegisterBest({ id, defaultName, register }: {
  id: string;
  defaultName: string;
  register: (input: { id: string; name: string }) => Promise<ActionResult<{ name: string; version: string }>>;
}) {
  const router = useRouter();
  const [name, setName] = useState(defaultName);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<{ name: string; version: string }>();
  const [pending, startTransition] = useTransition();
  return (
    <form
      aria-label="Register the best trial"
      className="flex flex-wrap items-end gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await register({ id, name });
          if (!r.ok) { setError(r.fieldErrors?.name?.join(" ") ?? r.error); return; }
          setError(undefined);
          setDone(r.data);
          router.refresh();
        });
      }}
    >
      <TextField id="register-name" label="Model name" value={name} onChange={(e) => setName(e.target.value)} error={error ? [error] : undefined} />
      <Button type="submit" disabled={pending || !name.trim()}>{pending ? "Registering…" : "Register best"}</Button>
      {done && (
        <p role="status" className="w-full text-sm text-emerald-800">
          Registered as <Link className="underline" href={`/models/${encodeURIComponent(done.name)}/versions/${done.version}`}>{done.name} version {done.version}</Link>.
        </p>
      )}
    </form>
  );
}
