import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { formatMetric, STATUS_TONE } from "@/components/runs/format";
import { StageSelect } from "@/components/registry/stage-select";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { KeyValueList } from "@/components/ui/key-value-list";
import { MarkdownEditor } from "@/components/ui/markdown-editor";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import { compareHref, modelHref } from "@/lib/registry-links";
import type { TensorSpec } from "@/db/schema";
import { forPage } from "@/server/auth/page";
import { can } from "@/server/auth/policy";
import { requirePageCtx } from "@/server/auth/session";
import { getVersionLineage } from "@/server/registry/lineage";
import { describeVersion, setStageAction } from "../../actions";
import { deployVersionAction } from "../../../../deployments/actions";
import { DeployForm } from "@/components/deployments/deploy-form";
import { BudgetNotice } from "@/components/costs/budget-notice";
import { teamBudget } from "@/server/costs/budget-service";
import { MODEL_VERSION_COST_DAYS, getModelVersionCost } from "@/server/costs/allocation";
import { ModelVersionCost } from "@/components/costs/model-version-cost";
import { RequestProductionForm } from "@/components/approvals/request-production-form";
import { requestProductionDeployAction } from "../../../../approvals/actions";
import { notFound } from "next/navigation";
import { decodeSegment } from "@/lib/path-segment";

type Props = { params: Promise<{ name: string; version: string }>; searchParams: Promise<Record<string, string | undefined>> };

export async function generateMetadata(props: Props): Promise<Metadata> {
  const { name, version } = await props.params;
  return { title: `${decodeSegment(name) ?? notFound()} v${version}` };
}

function SpecTable({ caption, specs }: { caption: string; specs: TensorSpec[] }) {
  return (
    <Table caption={caption}>
      <thead><tr><Th>Name</Th><Th>Type</Th><Th>Shape</Th></tr></thead>
      <tbody className="divide-y divide-stone-100">
        {specs.length === 0 && <EmptyRow colSpan={3}>None declared.</EmptyRow>}
        {specs.map((s, i) => (
          <tr key={i}><Td className="font-mono text-xs">{s.name || "—"}</Td><Td className="font-mono text-xs">{s.type}</Td><Td className="font-mono text-xs">{s.shape ? `[${s.shape.join(", ")}]` : "—"}</Td></tr>
        ))}
      </tbody>
    </Table>
  );
}

export default async function VersionPage(props: Props) {
  const { name: rawName, version } = await props.params;
  const name = decodeSegment(rawName) ?? notFound();
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  const lineage = await forPage(getVersionLineage(ctx, name, version, { team: sp.team }));
  const { model, version: v, inspection, run, experiment } = lineage;
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === model.team)?.teamId;
  const canEdit = ctx.actor.isAdmin || can(ctx.actor, "train_model", teamId);
  const canDeploy = ctx.actor.isAdmin || can(ctx.actor, "deploy_staging", teamId);
  const canRequestProduction = ctx.actor.isAdmin || can(ctx.actor, "deploy_production", teamId);
  const deployedHere = lineage.deployed;
  const [budget, cost] = await Promise.all([
    canDeploy && inspection.format === "onnx" ? teamBudget(ctx, model.team) : null,
    getModelVersionCost(ctx, { team: model.team, model: model.name, version: Number(v.version) }),
  ]);
  const tags = Object.fromEntries((run?.data.tags ?? []).map((t) => [t.key, t.value]));
  const downloadBase = `/api/2.0/mlflow-artifacts/artifacts/${v.storage_location.replace(/^mlflow-artifacts:\/+/, "")}`;
  const overview: [string, ReactNode][] = [
    ["Status", <Badge key="s" tone={v.status === "READY" ? "green" : "amber"}>{v.status.toLowerCase()}</Badge>],
    // What serves where comes from deployments and aliases; MLflow's stage is a label of its API, kept below.
    ["Serves", deployedHere.length
      ? <span key="serves" className="flex flex-wrap gap-1">{[...new Set(deployedHere.map((d) => d.environment))].map((e) => <Badge key={e} tone={e === "production" ? "green" : "blue"}>{e}</Badge>)}</span>
      : <span key="serves" className="text-stone-500">nowhere</span>],
    ["Format", <Badge key="f" tone={inspection.format === "onnx" ? "blue" : "neutral"}>{inspection.format}</Badge>],
    ["Flavors", inspection.flavors.join(", ") || "—"],
    ["Registered", `${formatDateTime(new Date(v.creation_timestamp).toISOString())} by ${v.user_id}`],
    ["Source", <code key="src" className="font-mono text-xs break-all">{v.source}</code>],
    ["Stored at", <code key="loc" className="font-mono text-xs break-all">{v.storage_location}</code>],
    ["Content digest", v.content_digest
      ? <code key="digest" className="font-mono text-xs" title={v.content_digest} aria-label={`Content digest ${v.content_digest}`}>{v.content_digest.slice(0, 19)}…</code>
      : <span key="digest" className="text-stone-500" title="Registered before Cairn pinned versions' files: register it again to deploy it">not pinned</span>],
    ["Load with", <code key="load" className="font-mono text-xs">models:/{model.name}/{v.version}</code>],
    ["MLflow stage", (
      <details key="st" className="text-sm">
        <summary className="cursor-pointer text-stone-600">{v.current_stage === "None" ? "none" : v.current_stage} <span className="text-xs text-stone-400">(label for MLflow clients)</span></summary>
        <p className="mt-1 text-xs text-stone-500">MLflow deprecated stages for aliases. Cairn keeps the label for clients that still read it; it never moves an alias or deploys anything — what serves is above.</p>
        <div className="mt-1"><StageSelect team={model.team} name={model.name} version={v.version} stage={v.current_stage} canEdit={canEdit} setStage={setStageAction} /></div>
      </details>
    )],
  ];
  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/models" className="hover:underline">Models</Link> <span aria-hidden>/</span>{" "}
        <Link href={modelHref(model.team, model.name)} className="hover:underline">{model.name}</Link> <span aria-hidden>/</span> Version {v.version}
      </nav>
      <PageHeader
        title={`${model.name} · version ${v.version}`}
        description={<>Team <span className="font-mono">{model.team}</span>{v.aliases.length > 0 && <> · {v.aliases.map((a) => <Badge key={a} tone="teal" className="ml-1">@{a}</Badge>)}</>}</>}
        actions={Number(v.version) > 1 ? <Link href={compareHref(model.team, model.name, Number(v.version) - 1, v.version)} className="text-sm text-teal-800 underline">Compare with v{Number(v.version) - 1}</Link> : undefined}
      />
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <Card title="Overview">
          <KeyValueList items={overview} />
        </Card>
        <Card title="Description" className="xl:col-span-2">
          <MarkdownEditor target={{ team: model.team, name: model.name, version: v.version }} value={v.description} canEdit={canEdit} save={describeVersion} noun="description" />
        </Card>
      </div>
      <Card title="Cost">
        <ModelVersionCost cost={cost} days={MODEL_VERSION_COST_DAYS} />
      </Card>
      <Card title="Deploy">
        <div className="space-y-3 text-sm">
          {deployedHere.length > 0 && (
            <ul className="flex flex-wrap gap-2" aria-label="Deployments of this version">
              {deployedHere.map((d) => (
                <li key={d.deployment_id}><Link href={`/deployments/${d.deployment_id}`} className="text-teal-800 underline">{d.environment} deployment {d.deployment_id.slice(0, 8)}</Link> <Badge tone={d.status === "ready" ? "green" : "amber"}>{d.status.replace(/_/g, " ")}</Badge></li>
              ))}
            </ul>
          )}
          {budget && <BudgetNotice budget={budget} what="deploys" />}
          {inspection.format !== "onnx"
            ? <p className="text-stone-600">Cairn&apos;s model server serves ONNX models; this version is {inspection.format}. Register a version whose artifacts hold a <code className="font-mono text-xs">model.onnx</code> to deploy it.</p>
            : canDeploy
              ? <DeployForm team={model.team} name={model.name} version={Number(v.version)} deploy={deployVersionAction} />
              : <p className="text-stone-600">Your role in team {model.team} cannot deploy models.</p>}
          {inspection.format === "onnx" && canRequestProduction && (
            <div className="space-y-2 border-t border-stone-100 pt-3">
              <h3 className="text-sm font-semibold text-stone-800">Request production deploy</h3>
              <RequestProductionForm team={model.team} name={model.name} version={Number(v.version)} request={requestProductionDeployAction} />
            </div>
          )}
          <p className="text-xs text-stone-500">Staging deploys start at once. A production deploy waits as a request in <Link href="/approvals" className="underline">Approvals</Link> until a team lead of {model.team} other than the requester approves it; then it starts, and once it serves @production moves to this version and the previous production deployment stops.</p>
        </div>
      </Card>
      <section aria-labelledby="lineage-heading" className="space-y-3">
        <h2 id="lineage-heading" className="text-lg font-semibold text-stone-900">Lineage</h2>
        <ol className="grid gap-3 md:grid-cols-4" aria-label="Lineage">
          <li className="rounded-lg border border-stone-200 bg-white p-3 text-sm">
            <div className="text-xs text-stone-500">Experiment</div>
            {experiment ? <Link href={`/experiments/${experiment.id}`} className="font-medium text-teal-800 hover:underline">{experiment.name}</Link> : <span className="text-stone-500">—</span>}
          </li>
          <li className="rounded-lg border border-stone-200 bg-white p-3 text-sm">
            <div className="text-xs text-stone-500">Training job</div>
            {tags["cairn.job_id"] ? (
              <Link href={`/jobs/${tags["cairn.job_id"]}`} className="font-medium text-teal-800 hover:underline">job {tags["cairn.job_id"].slice(0, 8)}</Link>
            ) : (
              <span className="text-stone-700">not launched by Cairn — logged from {tags["mlflow.source.name"] ?? "code"}</span>
            )}
          </li>
          <li className="rounded-lg border border-stone-200 bg-white p-3 text-sm">
            <div className="text-xs text-stone-500">Source run</div>
            {run ? (
              <span className="flex items-center gap-2">
                <Link href={`/runs/${run.info.run_id}`} className="font-medium text-teal-800 hover:underline">{run.info.run_name}</Link>
                <Badge tone={STATUS_TONE[run.info.status] ?? "neutral"}>{run.info.status.toLowerCase()}</Badge>
              </span>
            ) : <span className="text-stone-500">{lineage.run_missing ?? "—"}</span>}
          </li>
          <li className="rounded-lg border border-stone-200 bg-white p-3 text-sm">
            <div className="text-xs text-stone-500">Datasets</div>
            <span className="text-stone-700">{run?.inputs.dataset_inputs.map((d) => `${d.dataset.name} (${d.tags.find((t) => t.key === "mlflow.data.context")?.value ?? "input"}, ${d.dataset.digest.slice(0, 8)})`).join(", ") || "none logged"}</span>
          </li>
        </ol>
      </section>
      <div className="grid items-start gap-6 xl:grid-cols-2">
        <div>
          <h2 className="mb-2 text-lg font-semibold text-stone-900">Run parameters</h2>
          <Table caption="Run parameters">
            <thead><tr><Th>Key</Th><Th>Value</Th></tr></thead>
            <tbody className="divide-y divide-stone-100">
              {(run?.data.params.length ?? 0) === 0 && <EmptyRow colSpan={2}>No parameters.</EmptyRow>}
              {run?.data.params.map((p) => <tr key={p.key}><Td className="font-mono text-xs">{p.key}</Td><Td className="font-mono text-xs break-all">{p.value}</Td></tr>)}
            </tbody>
          </Table>
        </div>
        <div>
          <h2 className="mb-2 text-lg font-semibold text-stone-900">Run metrics</h2>
          <Table caption="Run metrics">
            <thead><tr><Th>Key</Th><Th className="text-right">Latest</Th><Th className="text-right">Step</Th></tr></thead>
            <tbody className="divide-y divide-stone-100">
              {(run?.data.metrics.length ?? 0) === 0 && <EmptyRow colSpan={3}>No metrics.</EmptyRow>}
              {run?.data.metrics.map((m) => <tr key={m.key}><Td className="font-mono text-xs">{m.key}</Td><Td className="text-right font-mono text-xs">{formatMetric(m.value)}</Td><Td className="text-right text-xs">{m.step}</Td></tr>)}
            </tbody>
          </Table>
        </div>
      </div>
      <section aria-labelledby="signature-heading" className="space-y-3">
        <h2 id="signature-heading" className="text-lg font-semibold text-stone-900">Signature</h2>
        {inspection.signature ? (
          <>
            <p className="text-sm text-stone-600">Read from {inspection.signatureSource === "onnx" ? `the ONNX graph (${inspection.onnxPath})` : "the MLmodel file"}.</p>
            <div className="grid gap-6 md:grid-cols-2">
              <div><h3 className="mb-1 text-sm font-semibold text-stone-800">Inputs</h3><SpecTable caption="Inputs" specs={inspection.signature.inputs} /></div>
              <div><h3 className="mb-1 text-sm font-semibold text-stone-800">Outputs</h3><SpecTable caption="Outputs" specs={inspection.signature.outputs} /></div>
            </div>
          </>
        ) : <p className="text-sm text-stone-600">No signature: the version has neither an ONNX graph nor a signature in its MLmodel file.</p>}
        {inspection.inputExample && (
          <div><h3 className="mb-1 text-sm font-semibold text-stone-800">Input example</h3><pre className="max-h-64 overflow-auto rounded bg-stone-50 p-3 font-mono text-xs">{inspection.inputExample}</pre></div>
        )}
      </section>
      <section aria-labelledby="files-heading" className="space-y-2">
        <h2 id="files-heading" className="text-lg font-semibold text-stone-900">Artifacts</h2>
        <Table caption="Model files">
          <thead><tr><Th>File</Th><Th className="text-right">Size</Th></tr></thead>
          <tbody className="divide-y divide-stone-100">
            {lineage.artifacts.length === 0 && <EmptyRow colSpan={2}>No files at {v.storage_location}.</EmptyRow>}
            {lineage.artifacts.map((f) => {
              const base = f.path.split("/").pop() ?? f.path;
              return (
                <tr key={f.path}>
                  <Td className="font-mono text-xs">{f.is_dir ? `${base}/` : <a href={`${downloadBase}/${encodeURIComponent(base)}`} className="text-teal-800 underline" download>{base}</a>}</Td>
                  <Td className="text-right text-xs tabular-nums">{f.file_size === undefined ? "" : `${f.file_size.toLocaleString()} B`}</Td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      </section>
    </div>
  );
}
