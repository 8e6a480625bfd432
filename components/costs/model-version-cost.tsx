// A model version's cost on its page: training (its run's jobs), serving (its deployments), predictions and the
// cost per 1,000 predictions, side by side.
import { formatUsd } from "@/lib/format";
import type { AllocationRow } from "@/lib/schemas/costs";

export function ModelVersionCost({ cost, days }: { cost: AllocationRow | null; days: number }) {
  if (!cost) return <p className="text-sm text-stone-600">No training or serving cost in the last {days} days: the run it came from ran no Cairn job, and it has not served.</p>;
  const items: [string, string][] = [
    ["Training (its run)", formatUsd(cost.training_usd)],
    ["Serving (its deployments)", formatUsd(cost.serving_usd)],
    ["Total", formatUsd(cost.total_usd)],
    ["Predictions", (cost.predictions ?? 0).toLocaleString("en-US")],
    ["Per 1,000 predictions", cost.cost_per_1000_predictions_usd === null ? "no predictions yet" : formatUsd(cost.cost_per_1000_predictions_usd)],
  ];
  return (
    <div className="space-y-2">
      <dl className="grid grid-cols-2 gap-x-4 gap-y-1 text-sm sm:grid-cols-5" aria-label="Model version cost">
        {items.map(([k, v]) => (
          <div key={k}><dt className="text-xs text-stone-500">{k}</dt><dd className="font-medium tabular-nums text-stone-900">{v}</dd></div>
        ))}
      </dl>
      <p className="text-xs text-stone-500">Last {days} days · CPU {formatUsd(cost.cpu_usd)}, memory {formatUsd(cost.memory_usd)}, GPU {formatUsd(cost.gpu_usd)}. Serving cost ÷ predictions the gateway counted × 1,000.</p>
    </div>
  );
}
