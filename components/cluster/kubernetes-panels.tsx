// What the portal shows of Kubernetes (CAIRN_COMPUTE_BACKEND=kubernetes), read from the API when the page
// renders: the cluster's nodes and the teams' ResourceQuotas (admin console), a job's or a deployment's pods
// and the Kubernetes events about them, a deployment's rollout and HPA.
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import type { Amounts, ClusterOverview, DeploymentKubernetes, EventView, JobKubernetes, PodView } from "@/lib/schemas/kubernetes-view";

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

function Used({ used, of, unit = "" }: { used: number; of: number; unit?: string }) {
  const share = of > 0 ? Math.min(100, Math.round((used / of) * 100)) : 0;
  return (
    <span className="inline-flex items-center gap-2 tabular-nums">
      <span className="h-1.5 w-16 overflow-hidden rounded bg-stone-200" aria-hidden><span className={`block h-full ${share >= 90 ? "bg-red-500" : "bg-teal-600"}`} style={{ width: `${share}%` }} /></span>
      <span>{fmt(used)} / {fmt(of)}{unit}</span>
    </span>
  );
}

function ReadError({ error }: { error: string | null }) {
  if (!error) return null;
  return <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">The Kubernetes API could not be read: {error}</p>;
}

/** Admin console: nodes (GPU type, requested vs. allocatable) and each team's ResourceQuota. */
export function ClusterSection({ cluster }: { cluster: ClusterOverview }) {
  if (cluster.backend === "local") return null;
  const amounts = (a: Amounts, of: Amounts) => (
    <>
      <Td><Used used={a.cpu} of={of.cpu} /></Td>
      <Td><Used used={a.memory_gib} of={of.memory_gib} unit=" GiB" /></Td>
      <Td>{of.gpus > 0 ? <Used used={a.gpus} of={of.gpus} /> : "—"}</Td>
      <Td className="tabular-nums">{fmt(a.pods)} / {fmt(of.pods)}</Td>
    </>
  );
  return (
    <section aria-labelledby="cluster-heading" className="space-y-3">
      <h2 id="cluster-heading" className="text-sm font-semibold text-stone-900">Cluster <span className="font-mono text-xs font-normal text-stone-500">{cluster.server}</span></h2>
      <ReadError error={cluster.error} />
      <Table caption="Nodes: requested by pods vs. allocatable">
        <thead><tr><Th>Node</Th><Th>Status</Th><Th>GPU type</Th><Th>CPU</Th><Th>Memory</Th><Th>GPUs</Th><Th>Pods</Th></tr></thead>
        <tbody className="divide-y divide-stone-100">
          {cluster.nodes.length === 0 && <EmptyRow colSpan={7}>No nodes.</EmptyRow>}
          {cluster.nodes.map((n) => (
            <tr key={n.name}>
              <Td className="font-mono text-xs">{n.name}</Td>
              <Td><Badge tone={n.ready ? "green" : "red"}>{n.ready ? (n.unschedulable ? "ready, cordoned" : "ready") : "not ready"}</Badge></Td>
              <Td className="font-mono text-xs">{n.gpu_type ?? "—"}</Td>
              {amounts(n.requested, n.allocatable)}
            </tr>
          ))}
        </tbody>
      </Table>
      <Table caption="Teams' ResourceQuotas: used vs. hard, as the API server counts them">
        <thead><tr><Th>Team</Th><Th>Namespace</Th><Th>CPU requests</Th><Th>Memory requests</Th><Th>GPUs</Th><Th>Pods</Th></tr></thead>
        <tbody className="divide-y divide-stone-100">
          {cluster.quotas.length === 0 && <EmptyRow colSpan={6}>No team namespace has a Cairn ResourceQuota yet (the tenant sync writes them).</EmptyRow>}
          {cluster.quotas.map((q) => (
            <tr key={q.namespace}>
              <Td className="font-medium">{q.team}</Td>
              <Td className="font-mono text-xs">{q.namespace}</Td>
              <Td><Used used={q.used.cpu} of={q.hard.cpu} /></Td>
              <Td><Used used={q.used.memory_gib} of={q.hard.memory_gib} unit=" GiB" /></Td>
              <Td>{q.hard.gpus > 0 ? <Used used={q.used.gpus} of={q.hard.gpus} /> : "—"}</Td>
              <Td className="tabular-nums">{fmt(q.used.pods)} / {fmt(q.hard.pods)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </section>
  );
}

function Pods({ pods, caption }: { pods: PodView[]; caption: string }) {
  return (
    <Table caption={caption}>
      <thead><tr><Th>Pod</Th><Th>Phase</Th><Th>Node</Th><Th>Ready</Th><Th>Restarts</Th><Th>Why</Th></tr></thead>
      <tbody className="divide-y divide-stone-100">
        {pods.length === 0 && <EmptyRow colSpan={6}>No pods (not created yet, or already cleaned up).</EmptyRow>}
        {pods.map((p) => (
          <tr key={p.name}>
            <Td className="font-mono text-xs">{p.name}</Td>
            <Td><Badge tone={p.phase === "Running" || p.phase === "Succeeded" ? "green" : p.phase === "Failed" ? "red" : "neutral"}>{p.phase}</Badge></Td>
            <Td className="font-mono text-xs">{p.node ?? "unscheduled"}</Td>
            <Td>{p.ready ? "yes" : "no"}</Td>
            <Td className="tabular-nums">{p.restarts}</Td>
            <Td className="text-xs text-stone-600">{p.reason ? `${p.reason}${p.message ? `: ${p.message}` : ""}` : "—"}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

function Events({ events }: { events: EventView[] }) {
  if (events.length === 0) return <p className="text-sm text-stone-500">No Kubernetes events (they expire after an hour).</p>;
  return (
    <ol className="space-y-1 text-sm" aria-label="Kubernetes events">
      {events.map((e, i) => (
        <li key={i} className="flex flex-wrap items-baseline gap-2">
          <span className="w-44 shrink-0 text-xs text-stone-500 tabular-nums">{e.at ? formatDateTime(e.at) : "—"}</span>
          <Badge tone={e.type === "Warning" ? "amber" : "neutral"}>{e.reason}</Badge>
          <span className="font-mono text-xs text-stone-500">{e.object}</span>
          <span className="text-stone-700">{e.message}{e.count > 1 ? ` (×${e.count})` : ""}</span>
        </li>
      ))}
    </ol>
  );
}

/** A job's page: its pods and the events about them, on Kubernetes. */
export function JobKubernetesCard({ view }: { view: JobKubernetes }) {
  if (view.backend === "local") return null;
  return (
    <Card title={`On Kubernetes · ${view.namespace}/${view.job}`}>
      <div className="space-y-3">
        <ReadError error={view.error} />
        <Pods pods={view.pods} caption="The job's pods" />
        <Events events={view.events} />
      </div>
    </Card>
  );
}

/** A deployment's page: rollout, HPA, pods and events, on Kubernetes. */
export function DeploymentKubernetesCard({ view }: { view: DeploymentKubernetes }) {
  if (view.backend === "local") return null;
  const r = view.rollout;
  return (
    <Card title={`On Kubernetes · ${view.namespace}/${view.name}`}>
      <div className="space-y-3">
        <ReadError error={view.error} />
        {r ? (
          <p className="text-sm text-stone-700">
            Rollout: {r.available} of {r.desired} available, {r.updated} updated{r.observed ? "" : " (the controller has not seen the newest spec yet)"}
            {r.failure ? <span className="text-red-800"> — {r.failure}</span> : null}
            {r.blocked ? <span className="text-amber-800"> — {r.blocked}</span> : null}
          </p>
        ) : (
          <p className="text-sm text-stone-500">No Deployment object yet: the reconciler creates it on its next pass.</p>
        )}
        {r?.hpa && (
          <p className="text-sm text-stone-700">
            HorizontalPodAutoscaler: {r.hpa.current} current, {r.hpa.desired} desired.{" "}
            {r.hpa.conditions.map((c) => `${c.type} ${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`).join("; ")}
          </p>
        )}
        <Pods pods={view.pods} caption="The deployment's pods" />
        <Events events={view.events} />
      </div>
    </Card>
  );
}
