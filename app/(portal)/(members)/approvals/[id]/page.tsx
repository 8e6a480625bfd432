import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { CostSummary } from "@/components/approvals/cost-summary";
import { DecisionForm } from "@/components/approvals/decision-form";
import { APPROVAL_TONE } from "@/components/approvals/format";
import { MetricsTable } from "@/components/approvals/metrics-table";
import { WithdrawButton } from "@/components/approvals/withdraw-button";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { KeyValueList } from "@/components/ui/key-value-list";
import { PageHeader } from "@/components/ui/page-header";
import { formatDateTime, formatRelative } from "@/lib/format";
import { modelHref } from "@/lib/registry-links";
import { getApprovalForPage } from "./approval";
import { forPage } from "@/server/auth/page";
import { can } from "@/server/auth/policy";
import { requirePageCtx } from "@/server/auth/session";
import { decideApprovalAction, withdrawApprovalAction } from "../actions";

export async function generateMetadata(props: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Approval ${(await props.params).id.slice(0, 8)}` };
}

const link = "text-teal-800 underline";

export default async function ApprovalPage(props: { params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  const ctx = await requirePageCtx();
  const a = await forPage(getApprovalForPage(ctx, id));
  const { candidate, current, metrics, cost, split } = a.evidence;
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === a.team)?.teamId;
  const isPending = a.status === "pending";
  const isMine = a.requested_by === ctx.actor.email;
  const canDecide = isPending && !isMine && can(ctx.actor, "approve_production", teamId);
  const label = `${a.model} v${a.version}`;
  const request: [string, ReactNode][] = [
    ["Status", <Badge key="s" tone={APPROVAL_TONE[a.status] ?? "neutral"}>{a.status}</Badge>],
    ["Model", <Link key="m" href={modelHref(a.team, a.model, a.version)} className={link}>{label}</Link>],
    ["Team", <span key="t" className="font-mono">{a.team}</span>],
    ["Requested by", a.requested_by],
    ["Asked", <span key="at" title={formatDateTime(a.created_at)}>{formatRelative(a.created_at)}</span>],
    ["Expires", isPending ? <span key="ex" title={formatDateTime(a.expires_at)}>{formatRelative(a.expires_at)}</span> : formatDateTime(a.expires_at)],
    ["Replicas", String(a.spec.replicas)],
    ["Autoscaling", a.spec.auto_scale ? `${a.spec.min_replicas}–${a.spec.max_replicas} replicas` : "off"],
    ["Traffic", `${a.spec.traffic} %`],
    ["Deployed by alias", a.spec.alias ? `@${a.spec.alias}` : "— (by version)"],
  ];
  const decided: [string, ReactNode][] = [
    ["Decided by", a.decided_by ?? (a.status === "cancelled" ? `${a.requested_by} (withdrawn)` : "— (no one)")],
    ["When", formatDateTime(a.decided_at)],
    ["Comment", a.comment ? <span key="c" className="whitespace-pre-wrap">{a.comment}</span> : "—"],
  ];
  if (a.status === "approved") {
    decided.push(["Production deployment", a.deployment_id ? <Link key="d" href={`/deployments/${a.deployment_id}`} className={link}>deployment {a.deployment_id.slice(0, 8)}</Link> : "— (removed since)"]);
  }
  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/approvals" className="hover:underline">Approvals</Link> <span aria-hidden>/</span> {label}
      </nav>
      <PageHeader
        title={split ? `Production traffic split: ${label} beside v${split.baseline_version}` : `Production deploy: ${label}`}
        description={<>Asked by {a.requested_by} {formatRelative(a.created_at)} ({formatDateTime(a.created_at)}) for team <span className="font-mono">{a.team}</span>. The evidence below was taken when the request was made.</>}
        actions={<Badge tone={APPROVAL_TONE[a.status] ?? "neutral"}>{a.status}</Badge>}
      />
      {isPending && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">Waiting for a team lead of {a.team}; the request expires {formatRelative(a.expires_at)} ({formatDateTime(a.expires_at)}).</p>}
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <Card title="Request" className={a.note ? undefined : "xl:col-span-3"}>
          <KeyValueList items={request} />
        </Card>
        {a.note && (
          <Card title="Note from the requester" className="xl:col-span-2">
            <p className="text-sm whitespace-pre-wrap text-stone-800">{a.note}</p>
          </Card>
        )}
      </div>
      {split && (
        <Card title="Traffic split">
          <KeyValueList items={[
            ["Baseline", <Link key="b" href={`/deployments/${split.baseline_deployment_id}`} className={link}>version {split.baseline_version} (deployment {split.baseline_deployment_id.slice(0, 8)})</Link>],
            ["Candidate", `version ${candidate.version} at ${split.weight} % of production's traffic`],
            ["Routing", split.sticky ? "sticky by the X-Cairn-Split-Key header (A/B)" : "at random (canary)"],
            ["Automatic abort", split.abort.error_share_points === null && split.abort.p99_ms === null ? "off" : [
              split.abort.error_share_points !== null ? `error share more than ${split.abort.error_share_points} points above the baseline's` : null,
              split.abort.p99_ms !== null ? `p99 more than ${split.abort.p99_ms} ms above the baseline's` : null,
            ].filter(Boolean).join(", or ") + `, once each variant served ${split.abort.min_requests} requests`],
          ]} />
          <p className="mt-2 text-xs text-stone-500">Approving starts exactly this split: the candidate serves beside the baseline, and production&apos;s alias moves only when someone promotes it.</p>
        </Card>
      )}
      <section aria-labelledby="metrics-heading" className="space-y-3">
        <h2 id="metrics-heading" className="text-lg font-semibold text-stone-900">Candidate vs. production</h2>
        <ul className="flex flex-wrap gap-x-6 gap-y-1 text-sm" aria-label="Evidence links">
          <li>Candidate v{candidate.version}: {candidate.run_id ? <Link href={`/runs/${candidate.run_id}`} className={link}>run {candidate.run_name ?? candidate.run_id.slice(0, 8)}</Link> : "no source run"} <span className="text-stone-500">({candidate.format})</span>{candidate.content_digest && <> · files <code className="font-mono text-xs" title={candidate.content_digest} aria-label={`Content digest ${candidate.content_digest}`}>{candidate.content_digest.slice(0, 19)}…</code></>}</li>
          {current
            ? <>
                <li>Production v{current.version}: {current.run_id ? <Link href={`/runs/${current.run_id}`} className={link}>run {current.run_name ?? current.run_id.slice(0, 8)}</Link> : "no source run"}</li>
                <li>{current.deployment_id ? <Link href={`/deployments/${current.deployment_id}`} className={link}>current production deployment</Link> : <span className="text-stone-600">v{current.version} holds @production but is not serving</span>}</li>
              </>
            : <li className="text-stone-600">Nothing in production yet: this would be the model&apos;s first production deployment.</li>}
        </ul>
        <MetricsTable metrics={metrics} candidateVersion={candidate.version} currentVersion={current?.version ?? null} />
        <p className="text-xs text-stone-500">Latest value of each metric in the two source runs. Losses, errors and latencies count as better when lower; other metrics when higher.</p>
      </section>
      <Card title="Cost">
        <CostSummary cost={cost} candidateReplicas={a.spec.replicas} currentReplicas={current?.replicas ?? null} />
      </Card>
      <Card title="Decision">
        {isPending && canDecide && <DecisionForm id={a.id} decide={decideApprovalAction} what={`${label} with ${a.spec.replicas} replica${a.spec.replicas === 1 ? "" : "s"}`} />}
        {isPending && isMine && (
          <div className="flex flex-wrap items-center justify-between gap-3 text-sm">
            <p className="text-stone-700">You asked for this deploy, so another team lead of {a.team} decides it.</p>
            <WithdrawButton id={a.id} label={label} withdraw={withdrawApprovalAction} />
          </div>
        )}
        {isPending && !isMine && !canDecide && <p className="text-sm text-stone-700">A team lead of {a.team} decides this request; your role cannot.</p>}
        {!isPending && <KeyValueList items={decided} />}
      </Card>
    </div>
  );
}
