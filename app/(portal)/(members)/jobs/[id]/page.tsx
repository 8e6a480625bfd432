import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { AutoRefresh } from "@/components/jobs/auto-refresh";
import { CancelJobButton } from "@/components/jobs/cancel-button";
import { JOB_TONE, resourceLabel } from "@/components/jobs/format";
import { FailureBanner } from "@/components/jobs/failure-banner";
import { JobLogs } from "@/components/jobs/job-logs";
import { ResourceCharts } from "@/components/jobs/resource-charts";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { KeyValueList } from "@/components/ui/key-value-list";
import { PageHeader } from "@/components/ui/page-header";
import { formatDateTime, formatDurationSeconds, formatUsd } from "@/lib/format";
import { forPage } from "@/server/auth/page";
import { can } from "@/server/auth/policy";
import { requirePageCtx } from "@/server/auth/session";
import { getJob, getJobEvents } from "@/server/jobs/service";
import { getExperiment } from "@/server/tracking/experiments";
import { getRun } from "@/server/tracking/runs";
import { getJobResources } from "@/server/jobs/usage";
import { cancelJobAction, retryJobAction } from "../actions";
import { RetryJobButton } from "@/components/jobs/retry-button";
import { JobKubernetesCard } from "@/components/cluster/kubernetes-panels";
import { jobKubernetes } from "@/server/compute/cluster-view";

export async function generateMetadata(props: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Job ${(await props.params).id.slice(0, 8)}` };
}

export default async function JobPage(props: { params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  const ctx = await requirePageCtx();
  const job = await forPage(getJob(ctx, id));
  const [events, kubernetes, resources, run, experiment] = await Promise.all([
    getJobEvents(ctx, id), jobKubernetes(ctx, id), getJobResources(ctx, id),
    getRun(ctx, job.run_id).catch(() => null), getExperiment(ctx, job.experiment_id).catch(() => null),
  ]);
  const active = ["queued", "admitted", "running"].includes(job.status);
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === job.team)?.teamId;
  // Cancel and retry: the job's own user, or a team lead (a retry reuses the job's env, which may hold its user's secrets).
  const mayAct = ctx.actor.isAdmin || can(ctx.actor, "manage_team", teamId) || (job.user === ctx.actor.email && can(ctx.actor, "train_model", teamId));
  const mayCancel = active && mayAct;
  const overview: [string, ReactNode][] = [
    ["Status", <Badge key="s" tone={JOB_TONE[job.status] ?? "neutral"}>{job.status}</Badge>],
    ["Team", <span key="t" className="font-mono">{job.team}</span>],
    ["Submitted by", job.user],
    ["Resources", resourceLabel(job.resources)],
    ["Priority", job.priority],
    ["Code", job.code_archive
      ? (
        <span key="code" className="inline-flex flex-wrap items-baseline gap-x-2">
          <span className="font-mono break-all">{job.code_archive.filename}</span>
          <span className="text-xs text-stone-500">uploaded archive · {job.code_archive.files} files</span>
          <a href={`/api/v1/jobs/${job.job_id}/code`} download className="text-teal-800 underline">Download (.tar.gz)</a>
        </span>
      )
      : job.source ?? "command only"],
    ["Command", <code key="c" className="font-mono text-xs break-all">{job.command.join(" ")}</code>],
    ["Attempt", `${job.attempt} of ${job.retries + 1}`],
    ["Max runtime", formatDurationSeconds(job.max_runtime_seconds)],
    ["Runtime", job.runtime_seconds ? formatDurationSeconds(job.runtime_seconds) : "—"],
    ["Price", `${formatUsd(job.hourly_price_usd)} / hour`],
    ["Cost so far", formatUsd(job.cost_so_far)],
    ["Exit code", job.exit_code ?? "—"],
  ];
  return (
    <div className="space-y-6">
      <AutoRefresh jobId={job.job_id} active={active} />
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/jobs" className="hover:underline">Jobs</Link> <span aria-hidden>/</span> {job.name}
      </nav>
      <PageHeader
        title={job.name}
        description={<>Logs into run <Link href={`/runs/${job.run_id}`} className="font-medium text-teal-800 underline">{run?.info.run_name ?? job.run_id.slice(0, 12)}</Link> of experiment <Link href={`/experiments/${job.experiment_id}`} className="text-teal-800 underline">{experiment?.name ?? job.experiment_id}</Link></>}
        actions={
          <>
            {mayCancel && <CancelJobButton id={job.job_id} cancel={cancelJobAction} />}
            {!active && mayAct && <RetryJobButton id={job.job_id} retry={retryJobAction} />}
            <Link href={`/jobs/new?from=${job.job_id}`} className={buttonClass("secondary", "sm")}>Clone and edit</Link>
          </>
        }
      />
      {job.queue_reason && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">Queued: {job.queue_reason}</p>}
      {job.status === "failed" && job.failure && <FailureBanner failure={job.failure} message={job.message} />}
      {job.message && !(job.status === "failed" && job.failure) && <p role={active ? "status" : undefined} className={`rounded-md border px-3 py-2 text-sm ${job.status === "failed" ? "border-red-200 bg-red-50 text-red-900" : "border-stone-200 bg-stone-50 text-stone-800"}`}>{job.message}</p>}
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <Card title="Overview">
          <KeyValueList items={overview} />
        </Card>
        <Card title="Timeline" className="xl:col-span-2">
          <ol className="space-y-2 text-sm" aria-label="Status timeline">
            {events.map((e, i) => (
              <li key={i} className="flex flex-wrap items-baseline gap-2">
                <span className="w-44 shrink-0 text-xs text-stone-500 tabular-nums">{formatDateTime(e.at)}</span>
                <Badge tone={JOB_TONE[e.status] ?? "neutral"}>{e.status}</Badge>
                {e.message && <span className="text-stone-700">{e.message}</span>}
              </li>
            ))}
          </ol>
        </Card>
      </div>
      <section aria-labelledby="resources-heading" className="space-y-2">
        <h2 id="resources-heading" className="text-lg font-semibold text-stone-900">CPU and memory</h2>
        <ResourceCharts of={{ kind: "job", id: job.job_id }} active={active} initial={resources} />
      </section>
      <JobKubernetesCard view={kubernetes} />
      <section aria-labelledby="logs-heading" className="space-y-2">
        <h2 id="logs-heading" className="text-lg font-semibold text-stone-900">Output</h2>
        <JobLogs jobId={job.job_id} active={active} />
      </section>
    </div>
  );
}
