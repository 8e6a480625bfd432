import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { ArtifactBrowser } from "@/components/runs/artifact-browser";
import { formatDuration, formatMetric, STATUS_TONE } from "@/components/runs/format";
import { RunMetrics } from "@/components/runs/run-metrics";
import { Badge } from "@/components/ui/badge";
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
import type { Ctx } from "@/server/context";
import { registerModelAction, saveNotesAction } from "./actions";
import { getRunForPage } from "./run";

export async function generateMetadata(props: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Run ${(await props.params).id.slice(0, 8)}` };
}

function canRegister(ctx: Ctx, team: string): boolean {
  return ctx.actor.isAdmin || can(ctx.actor, "train_model", ctx.actor.memberships.find((m) => m.teamSlug === team)?.teamId);
}

export default async function RunPage(props: { params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  const ctx = await requirePageCtx();
  const run = await getRunForPage(ctx, id);
  const [experiment, children, points] = await Promise.all([getExperiment(ctx, run.info.experiment_id), childRuns(ctx, id), historyPointCounts(ctx, [id])]);
  const modelNames = canRegister(ctx, experiment.team) ? (await listModels(ctx, { team: experiment.team })).models.map((m) => m.name) : null;
  const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
  const userTags = run.data.tags.filter((t) => !t.key.startsWith("mlflow."));
  const parent = tags["mlflow.parentRunId"];
  const { info } = run;
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === experiment.team)?.teamId;
  const canEdit = can(ctx.actor, "train_model", teamId) && info.lifecycle_stage === "active";
  const overview: [string, ReactNode][] = [
    ["Run ID", <code key="id" className="font-mono text-xs">{info.run_id}</code>],
    ["Status", <Badge key="s" tone={STATUS_TONE[info.status] ?? "neutral"}>{info.status.toLowerCase()}</Badge>],
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
  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/experiments" className="hover:underline">Experiments</Link> <span aria-hidden>/</span>{" "}
        <Link href={`/experiments/${experiment.experiment_id}`} className="hover:underline">{experiment.name}</Link> <span aria-hidden>/</span> {info.run_name}
      </nav>
      <PageHeader title={info.run_name} description={`Run in ${experiment.name} · team ${experiment.team}`} actions={info.lifecycle_stage === "deleted" ? <Badge tone="amber">deleted</Badge> : undefined} />
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <Card title="Overview">
          <KeyValueList items={overview} truncate />
        </Card>
        <Card title="Notes" className="xl:col-span-2">
          <MarkdownEditor target={info.run_id} value={tags["mlflow.note.content"] ?? ""} canEdit={canEdit} save={saveNotesAction} noun="notes" />
        </Card>
      </div>
      <section aria-labelledby="metrics-heading" className="space-y-3">
        <h2 id="metrics-heading" className="text-lg font-semibold text-stone-900">Metrics</h2>
        <RunMetrics runId={info.run_id} runName={info.run_name} keys={byHistoryLength(run.data.metrics.map((m) => m.key), points)} />
      </section>
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <div>
          <h2 className="mb-2 text-lg font-semibold text-stone-900">Parameters</h2>
          <Table caption="Parameters">
            <thead><tr><Th>Key</Th><Th>Value</Th></tr></thead>
            <tbody className="divide-y divide-stone-100">
              {run.data.params.length === 0 && <EmptyRow colSpan={2}>No parameters logged.</EmptyRow>}
              {run.data.params.map((p) => <tr key={p.key}><Td className="font-mono text-xs">{p.key}</Td><Td className="font-mono text-xs break-all">{p.value}</Td></tr>)}
            </tbody>
          </Table>
        </div>
        <div>
          <h2 className="mb-2 text-lg font-semibold text-stone-900">Latest metrics</h2>
          <Table caption="Latest metrics">
            <thead><tr><Th>Key</Th><Th className="text-right">Value</Th><Th className="text-right">Step</Th></tr></thead>
            <tbody className="divide-y divide-stone-100">
              {run.data.metrics.length === 0 && <EmptyRow colSpan={3}>No metrics logged.</EmptyRow>}
              {run.data.metrics.map((m) => <tr key={m.key}><Td className="font-mono text-xs">{m.key}</Td><Td className="text-right font-mono text-xs">{formatMetric(m.value)}</Td><Td className="text-right text-xs">{m.step}</Td></tr>)}
            </tbody>
          </Table>
        </div>
        <div>
          <h2 className="mb-2 text-lg font-semibold text-stone-900">Tags</h2>
          <Table caption="Tags">
            <thead><tr><Th>Key</Th><Th>Value</Th></tr></thead>
            <tbody className="divide-y divide-stone-100">
              {userTags.length === 0 && <EmptyRow colSpan={2}>No tags besides MLflow&apos;s own.</EmptyRow>}
              {userTags.map((t) => <tr key={t.key}><Td className="font-mono text-xs">{t.key}</Td><Td className="font-mono text-xs break-all">{t.value}</Td></tr>)}
            </tbody>
          </Table>
        </div>
      </div>
      <section aria-labelledby="artifacts-heading" className="space-y-3">
        <h2 id="artifacts-heading" className="text-lg font-semibold text-stone-900">Artifacts</h2>
        <div className="rounded-lg border border-stone-200 bg-white p-4">
          <ArtifactBrowser runId={info.run_id} downloadBase={downloadBase} registration={modelNames ? { modelNames, register: registerModelAction } : undefined} />
        </div>
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
    </div>
  );
}
