import type { Metadata } from "next";
import Link from "next/link";
import { RegisterBest, SweepControls } from "@/components/sweeps/sweep-controls";
import { SweepProgress } from "@/components/sweeps/sweep-progress";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { RefreshWhile } from "@/components/ui/refresh-while";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatCount, formatRelative } from "@/lib/format";
import type { SweepDto } from "@/lib/schemas/sweeps";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { getSweep } from "@/server/sweeps/service";
import { controlSweepAction, registerBestTrialAction } from "../actions";

export async function generateMetadata(props: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Sweep ${(await props.params).id.slice(0, 8)}` };
}

const STATE_TONE: Record<string, "green" | "red" | "amber" | "blue" | "neutral"> = {
  running: "blue", paused: "amber", stopping: "amber", finished: "green", stopped: "neutral", failed: "red",
  waiting: "amber", succeeded: "green", pruned: "neutral", cancelled: "neutral",
};
const TRIAL_LABEL: Record<string, string> = { pruned: "stopped early" };

const show = (v: number | string | null | undefined) => (v === null || v === undefined ? "—" : typeof v === "number" ? String(Number(v.toPrecision(5))) : v);

export default async function SweepPage(props: { params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  const ctx = await requirePageCtx();
  const sweep: SweepDto = await forPage(getSweep(ctx, id));
  const open = ["running", "paused", "stopping"].includes(sweep.state);
  const names = sweep.space.map((p) => String(p.name));
  const varying = sweep.space.filter((p) => p.type !== "fixed").map((p) => String(p.name));
  const c = sweep.counts;
  const best = sweep.best_trial;
  return (
    <div className="space-y-4">
      <RefreshWhile active={open} everyMs={3000} />
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/experiments" className="hover:underline">Experiments</Link> <span aria-hidden>/</span>{" "}
        <Link href={`/experiments/${sweep.experiment_id}`} className="hover:underline">Experiment {sweep.experiment_id}</Link> <span aria-hidden>/</span> {sweep.name}
      </nav>
      <PageHeader
        title={sweep.name}
        description={
          <>
            {sweep.algorithm} search, {sweep.objective.direction} <span className="font-mono">{sweep.objective.metric}</span> · {formatCount(sweep.max_trials, "trial")} at most, {sweep.parallelism} at a time
            {sweep.early_stopping.type === "median" ? " · median-rule early stopping" : ""} · by {sweep.user} {formatRelative(sweep.created_at)} ·{" "}
            <Link href={`/runs/${sweep.parent_run_id}`} className="underline">parent run</Link>
          </>
        }
        actions={
          <>
            <Badge tone={STATE_TONE[sweep.state] ?? "neutral"}>{sweep.state}</Badge>
            {sweep.viewer_can.control && <SweepControls id={sweep.sweep_id} state={sweep.state} control={controlSweepAction} />}
          </>
        }
      />
      {sweep.message && <p className={sweep.state === "failed" ? "text-sm text-red-700" : "text-sm text-stone-600"} role={sweep.state === "failed" ? "alert" : undefined}>{sweep.message}</p>}
      <Card title="Trials">
        <dl aria-label="Trial counts" className="grid grid-cols-3 gap-3 text-sm sm:grid-cols-6">
          {([["Running", c.running], ["Waiting", c.waiting], ["Finished", c.succeeded], ["Stopped early", c.pruned], ["Failed", c.failed], ["Cancelled", c.cancelled]] as const).map(([label, n]) => (
            <div key={label}><dt className="text-stone-500">{label}</dt><dd className="text-lg font-semibold text-stone-900">{n}</dd></div>
          ))}
        </dl>
        <p className="mt-2 text-xs text-stone-500">{c.total} of {sweep.max_trials} trials asked for.</p>
        {sweep.waiting_reasons.length > 0 && (
          <ul aria-label="Why trials wait" className="mt-2 list-disc pl-5 text-sm text-amber-800">
            {sweep.waiting_reasons.map((w) => <li key={w.reason}>{formatCount(w.trials, "trial")} waiting: {w.reason}</li>)}
          </ul>
        )}
      </Card>
      <Card title="Best trial">
        {best ? (
          <div className="space-y-3 text-sm">
            <p data-testid="best-trial">
              Trial #{best.number}: <span className="font-mono">{sweep.objective.metric}</span> = <strong>{show(best.objective)}</strong> with{" "}
              {varying.map((n) => `${n} ${show(best.params[n])}`).join(", ")} · <Link className="underline" href={`/runs/${best.run_id}`}>run</Link>
            </p>
            {sweep.viewer_can.register && <RegisterBest id={sweep.sweep_id} defaultName={`${sweep.name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "sweep"}-best`} register={registerBestTrialAction} />}
          </div>
        ) : (
          <p className="text-sm text-stone-500">No trial has finished with {sweep.objective.metric} yet.</p>
        )}
      </Card>
      <Card title="Progress">
        <SweepProgress trials={sweep.trials} metric={sweep.objective.metric} direction={sweep.objective.direction} />
      </Card>
      <Table caption="Trials">
        <thead>
          <tr>
            <Th>Trial</Th><Th>State</Th>
            {names.map((n) => <Th key={n} className="normal-case">{n}</Th>)}
            <Th className="normal-case">{sweep.objective.metric}</Th><Th>Job</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {sweep.trials.length === 0 && <EmptyRow colSpan={names.length + 4}>{open ? "The sweep driver submits the first trials in a moment." : "No trials ran."}</EmptyRow>}
          {sweep.trials.map((t) => {
            const isBest = best?.number === t.number;
            return (
              <tr key={t.number} className={isBest ? "bg-emerald-50" : undefined} aria-label={isBest ? `Trial ${t.number} (best)` : `Trial ${t.number}`}>
                <Td>#{t.number}{isBest && <> <Badge tone="green">best</Badge></>}</Td>
                <Td>
                  <Badge tone={STATE_TONE[t.state] ?? "neutral"}>{TRIAL_LABEL[t.state] ?? t.state}</Badge>
                  {t.attempt > 1 && <span className="ml-1 text-xs text-stone-500">attempt {t.attempt}</span>}
                  {(t.queue_reason ?? t.message) && <p className="mt-1 max-w-xs text-xs text-stone-500">{t.queue_reason ?? t.message}</p>}
                </Td>
                {names.map((n) => <Td key={n} className="font-mono tabular-nums">{show(t.params[n])}</Td>)}
                <Td className="font-mono tabular-nums">{show(t.objective)}</Td>
                <Td>{t.job_id ? <Link className="underline" href={`/jobs/${t.job_id}`}>job</Link> : "—"} · <Link className="underline" href={`/runs/${t.run_id}`}>run</Link></Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
    </div>
  );
}
