// The allocation as a chargeback CSV: one line per group (names, never ids), costs by resource kind, GPU cost
// by type, requested vs used, efficiency and idle cost, predictions and cost per 1,000; the total last.
import { toCsv } from "@/lib/csv";
import type { AllocationDto, AllocationRow } from "@/lib/schemas/costs";

export function allocationCsv(a: AllocationDto): string {
  const gpuTypes = [...new Set([...a.rows, a.total].flatMap((r) => r.gpu_by_type.map((g) => g.gpu_type)))].sort();
  const header = [
    a.by, "teams", "from", "to", "currency", "total_usd", "cpu_usd", "memory_usd", "gpu_usd", ...gpuTypes.map((t) => `gpu_usd_${t}`), "storage_usd", "unsplit_usd",
    "training_usd", "serving_usd", "cpu_core_hours", "used_cpu_core_hours", "memory_gib_hours", "used_memory_gib_hours", "gpu_hours", "used_gpu_hours", "storage_gib_hours",
    "cpu_efficiency", "memory_efficiency", "gpu_efficiency", "efficiency", "idle_usd", "usage", "predictions", "cost_per_1000_predictions_usd",
  ];
  const line = (r: AllocationRow) => [
    r.name, r.teams.join(" "), a.from, a.to, a.currency, r.total_usd, r.cpu_usd, r.memory_usd, r.gpu_usd, ...gpuTypes.map((t) => r.gpu_by_type.find((g) => g.gpu_type === t)?.usd ?? 0), r.storage_usd, r.unsplit_usd,
    r.training_usd, r.serving_usd, r.cpu_core_hours, r.used_cpu_core_hours, r.memory_gib_hours, r.used_memory_gib_hours, r.gpu_hours, r.used_gpu_hours, r.storage_gib_hours,
    r.cpu_efficiency, r.memory_efficiency, r.gpu_efficiency, r.efficiency, r.idle_usd, r.usage_note ? `${r.usage} (${r.usage_note})` : r.usage, r.predictions, r.cost_per_1000_predictions_usd,
  ];
  return toCsv(header, [...a.rows.map(line), line(a.total)]);
}

/** The download's file name: cairn-costs-by-<grouping>-<from day>-to-<to day>.csv. */
export function allocationFilename(a: AllocationDto): string {
  return `cairn-costs-by-${a.by.replace("_", "-")}-${a.from.slice(0, 10)}-to-${a.to.slice(0, 10)}.csv`;
}
