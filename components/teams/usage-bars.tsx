import type { K8sAmounts, QuotaDto } from "@/lib/schemas/teams";

type TeamUsage = {
  quota: QuotaDto | null;
  used: { cpu: number; memory_gib: number; gpus: number; gpus_by_type: Record<string, number>; max_concurrent_jobs: number; max_deployments: number; max_replicas: number; storage_gib: number | null };
  kubernetes: { used: K8sAmounts | null; hard: K8sAmounts | null } | null;
};

/** GiB as the most readable unit ("3.2 MiB", "1.5 GiB"). */
function storage(gib: number): string {
  if (gib === 0) return "0 GiB";
  if (gib < 1 / 1024) return `${Math.max(1, Math.round(gib * 1024 * 1024))} KiB`;
  if (gib < 1) return `${Math.round(gib * 1024 * 10) / 10} MiB`;
  return `${Math.round(gib * 100) / 100} GiB`;
}

function Bar({ label, used, limit, unit, k8s, shown }: { label: string; used: number; limit: number | null; unit: string; k8s?: { used: number; hard: number } | null; shown?: string }) {
  const pct = limit && limit > 0 ? Math.min(100, (used / limit) * 100) : used > 0 ? 100 : 0;
  const over = limit !== null && used > limit;
  const tone = over ? "bg-red-500" : pct >= 80 ? "bg-amber-500" : "bg-teal-600";
  return (
    <div>
      <div className="flex justify-between text-xs"><span className="text-stone-700">{label}</span><span className={over ? "font-medium text-red-700" : "text-stone-600"}>{shown ?? `${used} of ${limit ?? "∞"} ${unit}`}{over ? " — over quota: new work waits" : ""}</span></div>
      <div className="mt-1 h-2 rounded-full bg-stone-100" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={limit ?? used} aria-valuenow={used}>
        <div className={`h-2 rounded-full ${tone}`} style={{ width: `${pct}%` }} />
      </div>
      {k8s && <p className="mt-0.5 text-[11px] text-stone-500">Kubernetes ResourceQuota: {k8s.used} of {k8s.hard} {unit}</p>}
    </div>
  );
}

/**
 * Used vs. limit for every resource: Cairn's own accounting (admitted and running jobs, the artifact
 * store), and — on Kubernetes — what the namespace's ResourceQuota status counts.
 */
export function UsageBars({ usage }: { usage: TeamUsage }) {
  const q = usage.quota;
  const u = usage.used;
  const k = usage.kubernetes?.used && usage.kubernetes.hard ? { used: usage.kubernetes.used, hard: usage.kubernetes.hard } : null;
  const pick = (key: keyof K8sAmounts) => (k ? { used: k.used[key], hard: k.hard[key] } : null);
  return (
    <div className="space-y-2 rounded-lg border border-stone-200 bg-white p-4" data-testid="usage">
      <Bar label="CPU" used={u.cpu} limit={q?.cpu ?? null} unit="cores" k8s={pick("cpu")} />
      <Bar label="Memory" used={u.memory_gib} limit={q?.memory_gib ?? null} unit="GiB" k8s={pick("memory_gib")} />
      <Bar label="GPUs" used={u.gpus} limit={q?.gpus ?? null} unit="" k8s={pick("gpus")} />
      {Object.entries(q?.gpus_by_type ?? {}).map(([type, n]) => <Bar key={type} label={`GPUs: ${type}`} used={u.gpus_by_type[type] ?? 0} limit={n} unit="" />)}
      <Bar label="Concurrent jobs" used={u.max_concurrent_jobs} limit={q?.max_concurrent_jobs ?? null} unit="" />
      <Bar label="Artifact storage" used={u.storage_gib ?? 0} limit={q?.storage_gib ?? null} unit="GiB" shown={`${u.storage_gib === null ? "could not be measured" : storage(u.storage_gib)} of ${q?.storage_gib === null || q?.storage_gib === undefined ? "∞" : `${q.storage_gib} GiB`}`} />
      <Bar label="Deployments" used={u.max_deployments} limit={q?.max_deployments ?? null} unit="" />
      <Bar label="Replicas" used={u.max_replicas} limit={q?.max_replicas ?? null} unit="" />
      <p className="text-xs text-stone-500">
        Live deployments (starting or serving) count against the deployments quota, and their model replicas against the replicas
        quota; stopped and failed ones count against neither. A deploy or scale request past the replicas quota is refused, and
        the autoscaler stops at it.
      </p>
    </div>
  );
}
