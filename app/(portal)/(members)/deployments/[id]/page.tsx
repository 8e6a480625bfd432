import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { DEPLOYMENT_TONE, ENVIRONMENT_TONE, LIVE_STATUSES, statusLabel, featureCount } from "@/components/deployments/format";
import { RollbackButton } from "@/components/deployments/rollback-button";
import { StopDeploymentButton } from "@/components/deployments/stop-button";
import { TrafficCharts } from "@/components/deployments/traffic-charts";
import { TryIt } from "@/components/deployments/try-it";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { KeyValueList } from "@/components/ui/key-value-list";
import { PageHeader } from "@/components/ui/page-header";
import { RefreshWhile } from "@/components/ui/refresh-while";
import { formatDateTime } from "@/lib/format";
import { modelHref } from "@/lib/registry-links";
import { forPage } from "@/server/auth/page";
import { can } from "@/server/auth/policy";
import { requirePageCtx } from "@/server/auth/session";
import { getDeploymentForPage } from "./deployment";
import { DeploymentKubernetesCard } from "@/components/cluster/kubernetes-panels";
import { deploymentKubernetes } from "@/server/compute/cluster-view";
import { abortSplitAction, promoteSplitAction, rollbackDeploymentAction, setSampleRateAction, startSplitAction, stopDeploymentAction, tryDeploymentAction } from "../actions";
import { Monitoring } from "@/components/deployments/monitoring";
import { getDrift } from "@/server/drift/service";
import { TrafficSplit } from "@/components/deployments/traffic-split";
import { candidateVersions, getSplit } from "@/server/deployments/split";
import { PathCode } from "@/components/ui/path-code";
import { ResourceCharts } from "@/components/jobs/resource-charts";
import { getDeploymentResources } from "@/server/deployments/usage";

export async function generateMetadata(props: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Deployment ${(await props.params).id.slice(0, 8)}` };
}

export default async function DeploymentPage(props: { params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  const ctx = await requirePageCtx();
  const d = await forPage(getDeploymentForPage(ctx, id));
  const [kubernetes, { split, pending_requests: pendingSplits }, versions, drift, resources] = await Promise.all([
    deploymentKubernetes(ctx, d.deployment_id), getSplit(ctx, d.deployment_id), candidateVersions(ctx, d.deployment_id), getDrift(ctx, d.deployment_id, { hours: 24 }),
    getDeploymentResources(ctx, d.deployment_id),
  ]);
  const live = LIVE_STATUSES.has(d.status);
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === d.team)?.teamId;
  const mayStop = live && (ctx.actor.isAdmin || can(ctx.actor, d.environment === "production" ? "deploy_production" : "deploy_staging", teamId));
  const features = featureCount(d.signature);
  const isCurrent = d.stable_endpoint_reaches === d.deployment_id;
  const reaches = isCurrent
    ? `The model's ${d.environment} address: it reaches this deployment now and follows promotions and rollbacks.`
    : d.stable_endpoint_reaches
      ? <>The model&apos;s {d.environment} address reaches <Link href={`/deployments/${d.stable_endpoint_reaches}`} className="text-teal-800 underline">another deployment</Link> now.</>
      : `The model's ${d.environment} address: nothing serves it now.`;
  // The snippet calls the stable address when it reaches this deployment, the pinned one otherwise.
  const callAt = isCurrent ? d.stable_endpoint : d.endpoint;
  const overview: [string, ReactNode][] = [
    ["Status", <Badge key="s" tone={DEPLOYMENT_TONE[d.status] ?? "neutral"}>{statusLabel(d.status)}</Badge>],
    ["Environment", <Badge key="e" tone={ENVIRONMENT_TONE[d.environment] ?? "teal"}>{d.environment}</Badge>],
    ["Model", <Link key="m" href={modelHref(d.team, d.model, d.version)} className="text-teal-800 underline">{d.model} v{d.version}</Link>],
    ["Deployed by alias", d.alias ? `@${d.alias}` : "— (by version)"],
    ["Team", <span key="t" className="font-mono">{d.team}</span>],
    ["Replicas", kubernetes.backend === "kubernetes"
      ? (kubernetes.rollout ? `${kubernetes.rollout.available} of ${kubernetes.rollout.desired} available on Kubernetes` : `${d.replicas} (no Deployment object yet)`)
      : d.ready_replicas === null ? `${d.replicas} (none running)` : `${d.ready_replicas} of ${d.replicas} serving`],
    ["Autoscaling", d.auto_scale ? `${d.min_replicas}–${d.max_replicas} replicas at ${d.target_concurrency} requests in flight per replica${d.scaled_at ? ` (last scaled ${formatDateTime(d.scaled_at)}; the reasons are in the events below)` : ""}` : `off: a fixed ${d.replicas} replica${d.replicas === 1 ? "" : "s"}`],
    ["Traffic", `${d.traffic} %`],
    ["Backend", d.backend === "local" ? "local processes on the Cairn host" : d.backend],
    ["Stable endpoint", (
      <span key="sep">
        <PathCode path={d.stable_endpoint} />
        <span className="block text-xs text-stone-500">{reaches}</span>
      </span>
    )],
    ["Pinned endpoint", <PathCode key="ep" path={d.endpoint} />],
    ["Deployed", `${formatDateTime(d.created_at)} by ${d.created_by}`],
    ["Ready since", d.ready_at ? formatDateTime(d.ready_at) : "—"],
    ["Stopped", d.stopped_at ? formatDateTime(d.stopped_at) : "—"],
  ];
  const curl = `curl -X POST "$CAIRN_URL${callAt}/v2/models/${encodeURIComponent(d.model)}/infer" \\
  -H "Authorization: Bearer $CAIRN_TOKEN" -H "content-type: application/json" \\
  -d '{"inputs":[{"name":"${d.signature?.inputs[0]?.name ?? "input"}","shape":[1,${features ?? "F"}],"datatype":"FP32","data":[…]}]}'`;
  return (
    <div className="space-y-6">
      <RefreshWhile active={d.status === "deploying"} />
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/deployments" className="hover:underline">Deployments</Link> <span aria-hidden>/</span> {d.model} v{d.version}
      </nav>
      <PageHeader
        title={`${d.model} v${d.version} · ${d.environment}`}
        description={<>Call <code className="font-mono text-xs">{d.stable_endpoint}</code> (the model&apos;s {d.environment} address) or <code className="font-mono text-xs">{d.endpoint}</code> (this deployment only) — a token of team <span className="font-mono">{d.team}</span> is required.</>}
        actions={mayStop ? (
          <>
            {d.rollback_to !== null && <RollbackButton id={d.deployment_id} to={d.rollback_to} production={d.environment === "production"} rollback={rollbackDeploymentAction} />}
            <StopDeploymentButton id={d.deployment_id} label={`${d.model} v${d.version} (${d.environment})`} stop={stopDeploymentAction} />
          </>
        ) : undefined}
      />
      {d.status === "failed" && d.message && <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">Failed: {d.message}</p>}
      {d.status === "deploying" && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">Starting {d.replicas} replica{d.replicas === 1 ? "" : "s"}…</p>}
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <Card title="Overview">
          <KeyValueList items={overview} />
        </Card>
        <Card title="Try it" className="xl:col-span-2">
          <TryIt id={d.deployment_id} signature={d.signature} inputExample={d.input_example} send={tryDeploymentAction} disabled={d.status === "ready" ? undefined : `The deployment is ${statusLabel(d.status)}.`} />
          <details className="mt-4 text-sm">
            <summary className="cursor-pointer text-stone-700">Call it from code</summary>
            <pre className="mt-2 overflow-auto rounded-md bg-stone-100 p-3 font-mono text-xs text-stone-800">{curl}</pre>
            <p className="mt-1 text-xs text-stone-500">MLflow&apos;s scoring format works too: POST <code className="font-mono">{callAt}/invocations</code> with <code className="font-mono">{`{"inputs": [[…]]}`}</code> or <code className="font-mono">dataframe_split</code>.</p>
            <p className="mt-1 text-xs text-stone-500">
              {isCurrent
                ? <><code className="font-mono">{d.stable_endpoint}</code> keeps answering through promotions and rollbacks; <code className="font-mono">{d.endpoint}</code> pins this deployment.</>
                : <>This deployment is not what <code className="font-mono">{d.stable_endpoint}</code> reaches now, so the example pins it at <code className="font-mono">{d.endpoint}</code>.</>}
            </p>
          </details>
        </Card>
      </div>
      <DeploymentKubernetesCard view={kubernetes} />
      <Card title="Replicas' CPU and memory">
        <ResourceCharts of={{ kind: "deployment", id: d.deployment_id }} active={live} initial={resources} />
        <p className="mt-2 text-xs text-stone-500">What the replicas use against what they request is the serving efficiency and idle cost on the Costs page.</p>
      </Card>
      <Card title="Traffic split">
        <TrafficSplit
          id={d.deployment_id} production={d.environment === "production"} canStart={mayStop} ready={d.status === "ready"} versions={versions} split={split} pending={pendingSplits}
          actions={{ start: startSplitAction, promote: promoteSplitAction, abort: abortSplitAction }}
        />
      </Card>
      <Card title="Traffic">
        <TrafficCharts id={d.deployment_id} />
      </Card>
      <section id="monitoring" aria-label="Monitoring">
        <Card title="Monitoring: drift and data quality">
          <Monitoring id={d.deployment_id} initial={drift} setRate={setSampleRateAction} />
        </Card>
      </section>
      <Card title="Events">
        <ol className="space-y-2 text-sm" aria-label="Deployment events">
          {d.events.map((e, i) => (
            <li key={i} className="flex flex-wrap items-baseline gap-2">
              <span className="w-44 shrink-0 text-xs text-stone-500 tabular-nums">{formatDateTime(e.at)}</span>
              <Badge tone={DEPLOYMENT_TONE[e.status] ?? "neutral"}>{statusLabel(e.status)}</Badge>
              {e.message && <span className="break-all text-stone-700">{e.message}</span>}
            </li>
          ))}
        </ol>
      </Card>
    </div>
  );
}
