import type { Metadata } from "next";
import Link from "next/link";
import { SweepForm } from "@/components/sweeps/sweep-form";
import type { SweepFormDefaults } from "@/components/sweeps/sweep-form";
import { PageHeader } from "@/components/ui/page-header";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { catalog } from "@/server/jobs/resources";
import { listExamples, resolveSource } from "@/server/jobs/service";
import { sweepCapabilities } from "@/server/sweeps/service";
import { createSweepAction } from "../../../../sweeps/actions";
import { getExperimentForPage } from "../../experiment";

export const metadata: Metadata = { title: "New sweep" };

// The churn example's flags (examples/churn/README.md): a space that beats its defaults within 20 trials.
const CHURN: SweepFormDefaults = {
  source: "examples/churn", command: [], metric: "val_auc", direction: "maximize",
  space: [
    { name: "lr", type: "log_uniform", low: "0.001", high: "0.5", values: "" },
    { name: "l2", type: "log_uniform", low: "0.00001", high: "0.1", values: "" },
    { name: "batch-size", type: "categorical", low: "", high: "", values: "16, 32, 64, 128" },
    { name: "epoch-delay-ms", type: "fixed", low: "", high: "", values: "0" },
  ],
};

export default async function NewSweepPage(props: { params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  const ctx = await requirePageCtx();
  const [experiment, types, capabilities] = await Promise.all([forPage(getExperimentForPage(ctx, id)), catalog(ctx.db), sweepCapabilities()]);
  const examples = listExamples().map((name) => {
    const code = resolveSource(`examples/${name}`)!;
    return { source: code.source, command: code.defaultCommand ?? [] };
  });
  const churn = examples.find((e) => e.source === "examples/churn");
  const defaults: SweepFormDefaults = churn
    ? { ...CHURN, command: churn.command }
    : { source: "", command: [], metric: "", direction: "minimize", space: [{ name: "", type: "uniform", low: "", high: "", values: "" }] };
  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/experiments" className="hover:underline">Experiments</Link> <span aria-hidden>/</span>{" "}
        <Link href={`/experiments/${experiment.experiment_id}`} className="hover:underline">{experiment.name}</Link> <span aria-hidden>/</span> New sweep
      </nav>
      <PageHeader
        title="New sweep"
        description="A search over the job's params: each trial is a training job (queued under the team's quota like any job) whose run is a child of the sweep's run."
      />
      <SweepForm
        experimentId={experiment.experiment_id}
        examples={examples}
        instanceTypes={types.map((t) => t.name)}
        bayesian={capabilities.bayesian}
        defaults={defaults}
        submit={createSweepAction}
      />
    </div>
  );
}
