import type { Metadata } from "next";
import { BudgetNotices } from "@/components/costs/budget-notice";
import { LaunchForm } from "@/components/jobs/launch-form";
import type { LaunchDefaults } from "@/components/jobs/launch-form";
import { PageHeader } from "@/components/ui/page-header";
import { joinCommand } from "@/lib/command-line";
import { requirePageCtx } from "@/server/auth/session";
import { budgetsFor } from "@/server/costs/budget-service";
import { forPage } from "@/server/auth/page";
import { getCodeArchive } from "@/server/jobs/code-archives";
import { catalog } from "@/server/jobs/resources";
import { getJob, listExamples, resolveSource } from "@/server/jobs/service";
import { searchExperiments } from "@/server/tracking/experiments";
import { previewJobAction, submitJobAction } from "../actions";

export const metadata: Metadata = { title: "Launch training" };

export default async function NewJobPage(props: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  const [{ experiments }, types, from, budgets] = await Promise.all([
    searchExperiments(ctx, { max_results: 500, view_type: "ACTIVE_ONLY" }),
    catalog(ctx.db),
    sp.from ? forPage(getJob(ctx, sp.from)) : Promise.resolve(null),
    budgetsFor(ctx),
  ]);
  const examples = listExamples().map((name) => {
    const code = resolveSource(`examples/${name}`)!;
    return { source: code.source, command: code.defaultCommand ?? [], description: name === "churn" ? "Logistic regression on the churn CSV; logs curves and an ONNX model." : `examples/${name}` };
  });
  // Clone and edit keeps an uploaded archive as the code (when the archive is still readable).
  const fromArchive = from?.code_archive ? await getCodeArchive(ctx, from.code_archive.id).catch(() => null) : null;
  const firstExample = examples.find((e) => e.source === "examples/churn") ?? examples[0];
  const defaults: LaunchDefaults = from
    ? {
        experimentId: from.experiment_id, source: from.source ?? "", command: joinCommand(from.command), instanceType: from.resources.instance_type ?? types[0]?.name ?? "",
        gpus: from.resources.gpus, priority: from.priority, maxRuntimeMinutes: Math.round(from.max_runtime_seconds / 60), retries: from.retries, env: "",
        archive: fromArchive,
      }
    : {
        experimentId: sp.experiment && experiments.some((e) => e.experiment_id === sp.experiment) ? sp.experiment : "",
        source: firstExample?.source ?? "", command: joinCommand(firstExample?.command ?? []), instanceType: "cpu.small",
        gpus: null, priority: "normal", maxRuntimeMinutes: 60, retries: 0, env: "",
      };
  return (
    <div className="space-y-4">
      <PageHeader
        title={from ? `Launch training (from ${from.name})` : "Launch training"}
        description="The job gets its own run in the experiment; Cairn hands it a short-lived token so an unmodified MLflow script logs into that run."
      />
      {/* Before the form is filled in: the teams past a budget step, and whether this viewer's submit would be refused. */}
      <BudgetNotices budgets={budgets.filter((b) => experiments.some((e) => e.team === b.team))} what="training jobs" />
      <LaunchForm
        experiments={experiments.map((e) => ({ id: e.experiment_id, name: e.name, team: e.team }))}
        instanceTypes={types.map((t) => ({ name: t.name, cpu: t.cpu, memory_gib: t.memoryGib, gpu_type: t.gpuType, gpu_count: t.gpuCount, hourly_price_usd: Number(t.hourlyPriceUsd) }))}
        examples={examples}
        defaults={defaults}
        preview={previewJobAction}
        submit={submitJobAction}
      />
    </div>
  );
}
