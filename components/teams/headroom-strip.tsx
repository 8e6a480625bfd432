import Link from "next/link";

type Usage = {
  team: string;
  quota: { cpu: number; memory_gib: number; gpus: number; max_concurrent_jobs: number } | null;
  used: { cpu: number; memory_gib: number; gpus: number; max_concurrent_jobs: number };
  queued_jobs: unknown[];
};

const free = (limit: number, used: number) => Math.max(0, Math.round((limit - used) * 100) / 100);

/** Each team's headroom (quota minus what admitted and running jobs hold), for the jobs list. */
export function HeadroomStrip({ usages }: { usages: Usage[] }) {
  if (usages.length === 0) return null;
  return (
    <div className="flex flex-wrap gap-2" aria-label="Team headroom">
      {usages.map((u) => (
        <Link key={u.team} href={`/teams/${u.team}`} className="rounded-lg border border-stone-200 bg-white px-3 py-2 text-xs text-stone-700 hover:border-teal-300" data-testid={`headroom-${u.team}`}>
          <span className="font-semibold text-stone-900">{u.team}</span> headroom:{" "}
          {u.quota ? (
            <>
              {free(u.quota.cpu, u.used.cpu)} of {u.quota.cpu} CPU · {free(u.quota.memory_gib, u.used.memory_gib)} of {u.quota.memory_gib} GiB · {free(u.quota.gpus, u.used.gpus)} of {u.quota.gpus} GPUs · {free(u.quota.max_concurrent_jobs, u.used.max_concurrent_jobs)} of {u.quota.max_concurrent_jobs} job slots free
              {u.queued_jobs.length > 0 && <span className="text-amber-800"> · {u.queued_jobs.length} queued for quota</span>}
            </>
          ) : "no quota set"}
        </Link>
      ))}
    </div>
  );
}
