import type { QuotaDto } from "@/lib/schemas/teams";

type TeamUsage = { quota: QuotaDto | null; used: { cpu: number; memory_gib: number; gpus: number; gpus_by_type: Record<string, number>; max_concurrent_jobs: number } };

function Bar({ label, used, limit, unit }: { label: string; used: number; limit: number | null; unit: string }) {
  const pct = limit && limit > 0 ? Math.min(100, (used / limit) * 100) : used > 0 ? 100 : 0;
  const over = limit !== null && used > limit;
  const tone = over ? "bg-red-500" : pct >= 80 ? "bg-amber-500" : "bg-teal-600";
  return (
    <div>
      <div className="flex justify-between text-xs"><span className="text-stone-700">{label}</span><span className={over ? "font-medium text-red-700" : "text-stone-600"}>{used} of {limit ?? "∞"} {unit}{over ? " — over quota: new work waits" : ""}</span></div>
      <div className="mt-1 h-2 rounded-full bg-stone-100" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={limit ?? used} aria-valuenow={used}>
        <div className={`h-2 rounded-full ${tone}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

/** Used vs. limit for every resource (Cairn's own accounting of admitted and running jobs). */
export function UsageBars({ usage }: { usage: TeamUsage }) {
  const q = usage.quota;
  const u = usage.used;
  return (
    <div className="space-y-2 rounded-lg border border-stone-200 bg-white p-4" data-testid="usage">
      <Bar label="CPU" used={u.cpu} limit={q?.cpu ?? null} unit="cores" />
      <Bar label="Memory" used={u.memory_gib} limit={q?.memory_gib ?? null} unit="GiB" />
      <Bar label="GPUs" used={u.gpus} limit={q?.gpus ?? null} unit="" />
      {Object.entries(q?.gpus_by_type ?? {}).map(([type, n]) => <Bar key={type} label={`GPUs: ${type}`} used={u.gpus_by_type[type] ?? 0} limit={n} unit="" />)}
      <Bar label="Concurrent jobs" used={u.max_concurrent_jobs} limit={q?.max_concurrent_jobs ?? null} unit="" />
      <p className="text-xs text-stone-500">Deployments and artifact storage are not counted yet (deployments are not built).</p>
    </div>
  );
}
