import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { CompareView } from "@/components/runs/compare-view";
import { PageHeader } from "@/components/ui/page-header";
import { isAppError } from "@/server/errors";
import { requirePageCtx } from "@/server/auth/session";
import { historyPointCounts } from "@/server/tracking/history";
import { getRun } from "@/server/tracking/runs";

export const metadata: Metadata = { title: "Compare runs" };

export default async function ComparePage(props: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await props.searchParams;
  const ids = [...new Set((sp.runs ?? "").split(",").map((s) => s.trim()).filter(Boolean))];
  const ctx = await requirePageCtx();
  if (ids.length < 2 || ids.length > 20) {
    return (
      <div>
        <PageHeader title="Compare runs" />
        <p role="alert" className="rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
          Select 2 to 20 runs to compare (you gave {ids.length}). Pick them with the checkboxes of an experiment&apos;s runs table.
        </p>
      </div>
    );
  }
  const runs = await Promise.all(ids.map((id) => getRun(ctx, id).catch((err: unknown) => {
    if (isAppError(err) && err.code === "not_found") notFound();
    throw err;
  })));
  const points = await historyPointCounts(ctx, runs.map((r) => r.info.run_id));
  return (
    <div className="space-y-4">
      <PageHeader title={`Compare ${runs.length} runs`} description="Parameters side by side (differences highlighted), overlaid metric curves, and a parameter-vs-metric scatter." />
      <CompareView
        historyPoints={points}
        runs={runs.map((r) => ({
          id: r.info.run_id,
          name: r.info.run_name,
          experimentId: r.info.experiment_id,
          params: Object.fromEntries(r.data.params.map((p) => [p.key, p.value])),
          metrics: Object.fromEntries(r.data.metrics.map((m) => [m.key, m.value])),
        }))}
      />
    </div>
  );
}
