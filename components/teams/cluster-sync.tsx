import { Badge } from "@/components/ui/badge";
import type { KubernetesTenantStatus } from "@/lib/schemas/teams";

export type ClusterSyncStatus = Omit<KubernetesTenantStatus, "hard" | "used">;

const when = (iso: string) => new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" }) + " UTC";

/** The tenant sync's last word on the team's namespace ("in sync", "drift repaired at …", or the API's error). */
export function ClusterSync({ backend, status }: { backend: "local" | "kubernetes"; status: ClusterSyncStatus | null }) {
  if (backend === "local") {
    return <p className="text-sm text-stone-600">Local backend: jobs run as processes on the Cairn host and Cairn&apos;s own admission enforces this quota. No Kubernetes objects are kept for the team.</p>;
  }
  if (!status) return <p className="text-sm text-stone-600">Waiting for the first tenant sync of this team&apos;s namespace.</p>;
  const badge = status.state === "error"
    ? <Badge tone="red">Sync error</Badge>
    : status.state === "drift_repaired"
      ? <Badge tone="amber">Drift repaired at {when(status.drift_repaired_at ?? status.checked_at)}</Badge>
      : <Badge tone="green">In sync</Badge>;
  return (
    <div className="space-y-2 text-sm" data-testid="cluster-sync">
      <div className="flex flex-wrap items-center gap-2">{badge}<span className="font-mono text-xs text-stone-600">{status.namespace}</span></div>
      {status.state === "error" && <p role="alert" className="text-sm break-words text-red-700">{status.message}</p>}
      <dl className="space-y-1 text-xs text-stone-600">
        <div>Checked {when(status.checked_at)}</div>
        {status.synced_at && <div>Last successful sync {when(status.synced_at)}</div>}
        {status.state === "in_sync" && status.drift_repaired_at && <div>Drift last repaired {when(status.drift_repaired_at)}</div>}
        <div>Kueue: {status.kueue ? "LocalQueue cairn" : "not installed in the cluster"}</div>
      </dl>
      {status.repaired.length > 0 && (
        <details className="text-xs text-stone-700">
          <summary className="cursor-pointer">{status.state === "error" ? "Changed before the error" : "Changed in the last pass"} ({status.repaired.length})</summary>
          <ul className="mt-1 list-disc space-y-0.5 pl-4 font-mono break-words">{status.repaired.map((r) => <li key={r}>{r}</li>)}</ul>
        </details>
      )}
    </div>
  );
}
