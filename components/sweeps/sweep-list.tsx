// The experiment's sweeps, above its runs: each links to its page (trials, best trial, controls).
import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { formatRelative } from "@/lib/format";

type Sweep = { sweep_id: string; name: string; state: string; algorithm: string; objective: { metric: string; direction: string }; max_trials: number; trials: number; created_at: string };

const TONE: Record<string, "green" | "red" | "amber" | "blue" | "neutral"> = { running: "blue", paused: "amber", stopping: "amber", finished: "green", stopped: "neutral", failed: "red" };

export function SweepList({ sweeps }: { sweeps: Sweep[] }) {
  return (
    <section aria-label="Sweeps" className="rounded-lg border border-stone-200 bg-white px-4 py-3">
      <h2 className="text-sm font-semibold text-stone-900">Sweeps</h2>
      <ul className="mt-1 divide-y divide-stone-100 text-sm">
        {sweeps.map((s) => (
          <li key={s.sweep_id} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-1.5">
            <Link href={`/sweeps/${s.sweep_id}`} className="font-medium text-teal-800 underline">{s.name}</Link>
            <Badge tone={TONE[s.state] ?? "neutral"}>{s.state}</Badge>
            <span className="text-stone-600">{s.algorithm} · {s.objective.direction} <span className="font-mono">{s.objective.metric}</span> · {s.trials} of {s.max_trials} trials · {formatRelative(s.created_at)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
