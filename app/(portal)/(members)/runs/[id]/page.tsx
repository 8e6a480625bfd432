import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { ArtifactBrowser } from "@/components/runs/artifact-browser";
import { formatDuration, formatMetric, STATUS_TONE } from "@/components/runs/format";
import { RunMetrics } from "@/components/runs/run-metrics";
import { JobLogs } from "@/components/jobs/job-logs";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Card } from "@/components/ui/card";
import { KeyValueList } from "@/components/ui/key-value-list";
import { MarkdownEditor } from "@/components/ui/markdown-editor";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import { can } from "@/server/auth/policy";
import { requirePageCtx } from "@/server/auth/session";
import { childRuns } from "@/server/tracking/browse";
import { getExperiment } from "@/server/tracking/experiments";
import { historyPointCounts } from "@/server/tracking/history";
import { byHistoryLength } from "@/lib/metric-order";
import { listModels } from "@/server/registry/lineage";
import { jobOfRun } from "@/server/jobs/service";
import type { Ctx } from "@/server/context";
import { registerModelAction, saveNotesAction } from "./actions";
import { getRunForPage } from "./run";

export async function generateMetadata(props: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Run ${(await props.params).id.slice(0, 8)}` };
}

function canRegister(ctx: Ctx, team: string): boolean {
  return ctx.actor.isAdmin || can(ctx.actor, "train_model", ctx.actor.memberships.find((m) => m.teamSlug === team)?.teamId);
}

const TABS = [
  { id: "overview", label: "Overview" },
  { id: "metrics", label: "Metrics" },
  { id: "params", label: "Parameters" },
  { id: "artifacts", label: "Artifacts" },
  { id: "logs", label: "Logs & system" },
] as const;
type Tab = (typeof TABS)[number]["id"];

/** MLflow's system metrics (mlflow.enable_system_metrics_logging): shown with the logs, not as model metrics. */
const isSystem = (key: string) => key.startsWith("system/");

export default async function RunPage(props: { params: Promise<{ id: string }>; searchParams: Promise<Record<string, string | undefined>> }) {
  const { id } = await props.params;
  const sp = await props.searchParams;
  const tab: Tab = TABS.some((t) => t.id === sp.tab) ? (sp.tab as Tab) : "overview";
  const ctx = await requirePageCtx();
  const run = await getRunForPage(ctx, id);
  const [experiment, children, points, job] = await Promise.all([getExperiment(ctx, run.info.experiment_id), childRuns(ctx, id), historyPointCounts(ctx, [id]), jobOfRun(ctx, id)]);
  const modelNames = canRegister(ctx, experiment.team) ? (await listModels(ctx, { team: experiment.team })).models.map((m) => m.name) : null;
  const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
  const userTags = run.data.tags.filter((t) => !t.key.startsWith("mlflow."));
  const parent = tags["mlflow.parentRunId"];
  const { info } = run;
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === experiment.team)?.teamId;
  const canEdit = can(ctx.actor, "train_model", teamId) && info.lifecycle_stage === "active";
  const pointsOf = (key: string) => points[key] ?? 1;
  const modelMetrics = run.data.metrics.filter((m) => !isSystem(m.key));
  const systemMetrics = run.data.metrics.filter((m) => isSystem(m.key));
  // Charts only for series: a metric logged once is a number in the table, not a one-point chart.
  const series = byHistoryLength(modelMetrics.map((m) => m.key), points).filter((k) => pointsOf(k) > 1);
  const overview: [string, ReactNode][] = [
    ["Run ID", <code key="id" className="font-mono text-xs">{info.run_id}</code>],
    ["Status", <Badge key="s" tone={STATUS_TONE[info.status] ?? "neutral"}>{info.status.toLowerCase()}</Badge>],
    ["Job", job ? <Link key="j" href={`/jobs/${job.job_id}`} className="text-teal-800 underline">{job.name}</Link> : "— (logged from outside Cairn's jobs)"],
    ["Started", formatDateTime(new Date(info.start_time).toISOString())],
    ["Ended", info.end_time ? formatDateTime(new Date(info.end_time).toISOString()) : "—"],
    ["Duration", formatDuration(info.end_time ? info.end_time - info.start_time : null)],
    ["User", info.user_id],
    ["Source", tags["mlflow.source.name"] ?? "—"],
    ["Parent run", parent ? <Link key="p" href={`/runs/${parent}`} className="font-mono text-xs text-teal-800 underline">{parent.slice(0, 12)}…</Link> : "—"],
    ["Datasets", run.inputs.dataset_inputs.map((d) => `${d.dataset.name} (${d.tags.find((t) => t.key === "mlflow.data.context")?.value ?? "input"})`).join(", ") || "—"],
    ["Artifacts", <code key="a" className="font-mono text-xs">{info.artifact_uri}</code>],
  ];
  const downloadBase = `/api/2.0/mlflow-artifacts/artifacts/${info.experiment_id}/${info.run_id}/artifacts`;
  const counts: Partial<Record<Tab, number>> = { metrics: modelMetrics.length, params: run.data.params.length };
  const tabHref = (t: Tab) => `/runs/${info.run_id}${t === "overview" ? "" : `?tab=${t}`}`;
  const metricsTable = (list: typeof run.data.metrics, caption: string) => (
    <Table caption={caption}>
      <thead><tr><Th>Metric</Th><Th className="text-right">Latest value</Th><Th className="text-right">Step</Th><Th className="text-right">Values logged</Th></tr></thead>
      <tbody className="divide-y divide-stone-100">
        {list.length === 0 && <EmptyRow colSpan={4}>No metrics logged.</EmptyRow>}
        {list.map((m) => (
          <tr key={m.key}>
            <Td className="font-mono text-xs">{m.key}</Td>
            <Td className="text-right font-mono text-xs">{formatMetric(m.value)}</Td>
            <Td className="text-right text-xs tabular-nums">{m.step}</Td>
            <Td className="text-right text-xs tabular-nums">{pointsOf(m.key).toLocaleString("en-US")}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/experiments" className="hover:underline">Experiments</Link> <span aria-hidden>/</span>{" "}
        <Link href={`/experiments/${experiment.experiment_id}`} className="hover:underline">{experiment.name}</Link> <span aria-hidden>/</span> {info.run_name}
      </nav>
      <PageHeader
        title={info.run_name}
        description={<>Run in {experiment.name} · team {experiment.team}{job && <> · produced by job <Link href={`/jobs/${job.job_id}`} className="text-teal-800 underline">{job.name}</Link></>}</>}
        actions={
          <div className="flex items-center gap-2">
            {info.lifecycle_stage === "deleted" && <Badge tone="amber">deleted</Badge>}
            {modelNames && info.lifecycle_stage === "active" && <Link href={tabHref("artifacts")} className={buttonClass("secondary", "sm")}>Register model</Link>}
          </div>
        }
      />
      <nav aria-label="Run sections" className="border-b border-stone-200">
        <ul className="-mb-px flex flex-wrap gap-1">
          {TABS.map((t) => (
            <li key={t.id}>
              <Link
                href={tabHref(t.id)}
                aria-current={t.id === tab ? "page" : undefined}
                className={cn("inline-block border-b-2 px-3 py-2 text-sm", t.id === tab ? "border-teal-700 font-medium text-teal-900" : "border-transparent text-stone-600 hover:border-stone-300 hover:text-stone-900")}
              >
                {t.label}{counts[t.id] !== undefined && <span className="ml-1 text-xs text-stone-500 tabular-nums">{counts[t.id]}</span>}
              </Link>
            </li>
          ))}
        </ul>
      </nav>

      {tab === "overview" && (
        <>
          <div className="grid items-start gap-6 xl:grid-cols-3">
            <Card title="Overview">
              <KeyValueList items={overview} truncate />
            </Card>
            <Card title="Notes" className="xl:col-span-2">
              <MarkdownEditor target={info.run_id} value={tags["mlflow.note.content"] ?? ""} canEdit={canEdit} save={saveNotesAction} noun="notes" />
            </Card>
          </div>
          <section aria-labelledby="summary-heading" className="space-y-2">
            <h2 id="summary-heading" className="text-lg font-semibold text-stone-900">Latest metrics</h2>
            {metricsTable(modelMetrics, "Latest metrics")}
            {series.length > 0 && <p className="text-sm"><Link href={tabHref("metrics")} className="text-teal-800 underline">Charts of the {series.length} metric{series.length === 1 ? "" : "s"} logged as a series</Link></p>}
          </section>
          {children.length > 0 && (
            <section aria-labelledby="children-heading" className="space-y-2">
              <h2 id="children-heading" className="text-lg font-semibold text-stone-900">Child runs ({children.length})</h2>
              <Table caption="Child runs">
                <thead><tr><Th>Run</Th><Th>Status</Th><Th>Started</Th></tr></thead>
                <tbody className="divide-y divide-stone-100">
                  {children.map((c) => (
                    <tr key={c.run_id}>
                      <Td><Link href={`/runs/${c.run_id}`} className="font-medium text-teal-800 hover:underline">{c.run_name}</Link></Td>
                      <Td><Badge tone={STATUS_TONE[c.status] ?? "neutral"}>{c.status.toLowerCase()}</Badge></Td>
                      <Td className="text-stone-600">{formatDateTime(new Date(c.start_time).toISOString())}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            </section>
          )}
        </>
      )}

      {tab === "metrics" && (
        <section aria-labelledby="metrics-heading" className="space-y-3">
          <h2 id="metrics-heading" className="text-lg font-semibold text-stone-900">Metrics</h2>
          {series.length > 0
            ? <RunMetrics runId={info.run_id} runName={info.run_name} keys={series} />
            : <p className="text-sm text-stone-600">No metric was logged as a series (more than one value): the table below holds them all.</p>}
          {metricsTable(modelMetrics, "All metrics")}
        </section>
      )}

      {tab === "params" && (
        <div className="grid items-start gap-6 xl:grid-cols-2">
          <section aria-labelledby="params-heading">
            <h2 id="params-heading" className="mb-2 text-lg font-semibold text-stone-900">Parameters</h2>
            <Table caption="Parameters">
              <thead><tr><Th>Key</Th><Th>Value</Th></tr></thead>
              <tbody className="divide-y divide-stone-100">
                {run.data.params.length === 0 && <EmptyRow colSpan={2}>No parameters logged.</EmptyRow>}
                {run.data.params.map((p) => <tr key={p.key}><Td className="font-mono text-xs">{p.key}</Td><Td className="font-mono text-xs break-words">{p.value}</Td></tr>)}
              </tbody>
            </Table>
          </section>
          <section aria-labelledby="tags-heading">
            <h2 id="tags-heading" className="mb-2 text-lg font-semibold text-stone-900">Tags</h2>
            <Table caption="Tags">
              <thead><tr><Th>Key</Th><Th>Value</Th></tr></thead>
              <tbody className="divide-y divide-stone-100">
                {userTags.length === 0 && <EmptyRow colSpan={2}>No tags besides MLflow&apos;s own.</EmptyRow>}
                {userTags.map((t) => <tr key={t.key}><Td className="font-mono text-xs">{t.key}</Td><Td className="font-mono text-xs break-words">{t.value}</Td></tr>)}
              </tbody>
            </Table>
          </section>
        </div>
      )}

      {tab === "artifacts" && (
        <section aria-labelledby="artifacts-heading" className="space-y-3">
          <h2 id="artifacts-heading" className="text-lg font-semibold text-stone-900">Artifacts</h2>
          {modelNames && <p className="text-sm text-stone-600">To register a model, select its folder&apos;s <code className="font-mono text-xs">MLmodel</code> or <code className="font-mono text-xs">model.onnx</code> below.</p>}
          <div className="rounded-lg border border-stone-200 bg-white p-4">
            <ArtifactBrowser runId={info.run_id} downloadBase={downloadBase} registration={modelNames ? { modelNames, register: registerModelAction } : undefined} />
          </div>
        </section>
      )}

      {tab === "logs" && (
        <>
          <section aria-labelledby="logs-heading" className="space-y-2">
            <h2 id="logs-heading" className="text-lg font-semibold text-stone-900">Log</h2>
            {job
              ? <>
                  <p className="text-sm text-stone-600">The output of job <Link href={`/jobs/${job.job_id}`} className="text-teal-800 underline">{job.name}</Link> ({job.status}), which logged this run.</p>
                  <JobLogs jobId={job.job_id} active={!["succeeded", "failed", "cancelled"].includes(job.status)} />
                </>
              : <p className="text-sm text-stone-600">This run was logged from outside Cairn&apos;s jobs (a notebook, a laptop, CI), so Cairn holds no output for it. Log files as artifacts to keep them with the run.</p>}
          </section>
          <section aria-labelledby="system-heading" className="space-y-2">
            <h2 id="system-heading" className="text-lg font-semibold text-stone-900">System metrics</h2>
            {systemMetrics.length > 0
              ? <RunMetrics runId={info.run_id} runName={info.run_name} keys={systemMetrics.map((m) => m.key)} />
              : <p className="text-sm text-stone-600">None logged. With the mlflow client, <code className="font-mono text-xs">mlflow.enable_system_metrics_logging()</code> records CPU, memory and GPU use under <code className="font-mono text-xs">system/</code>{job && <>; the job page charts its CPU and memory</>}.</p>}
          </section>
        </>
      )}
    </div>
  );
}
