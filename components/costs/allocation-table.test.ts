import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { AllocationRow } from "@/lib/schemas/costs";
import { AllocationTable, UnitCostTable } from "./allocation-table";

const row = (over: Partial<AllocationRow>): AllocationRow => ({
  key: "k", name: "name", teams: ["churn"], total_usd: 1, cpu_usd: 0.5, memory_usd: 0.3, gpu_usd: 0.2, gpu_by_type: [{ gpu_type: "nvidia-t4", usd: 0.2, gpu_hours: 1 }],
  storage_usd: 0, unsplit_usd: 0, training_usd: 1, serving_usd: 0, cpu_core_hours: 2, memory_gib_hours: 4, gpu_hours: 1, storage_gib_hours: 0,
  used_cpu_core_hours: null, used_memory_gib_hours: null, used_gpu_hours: null, cpu_efficiency: null, memory_efficiency: null, gpu_efficiency: null, efficiency: null, idle_usd: null,
  usage: "not measured", usage_note: null, predictions: null, cost_per_1000_predictions_usd: null, ...over,
});

describe("AllocationTable", () => {
  it("shows the split with GPU types, efficiency as a percentage, and says why there is none instead of a blank", () => {
    const measured = row({ key: "a", name: "train-small", efficiency: 0.5, cpu_efficiency: 0.5, memory_efficiency: 0.5, idle_usd: 0.4, usage: "measured" });
    const unreadable = row({ key: "b", name: "on-cluster", usage_note: "usage not readable: no metrics.k8s.io" });
    const unmeasured = row({ key: "c", name: "replica", usage_note: "not measured: no process samples for this period" });
    const html = renderToStaticMarkup(createElement(AllocationTable, { by: "job", rows: [measured, unreadable, unmeasured], total: row({ key: "total", name: "Total", total_usd: 3 }) }));
    expect(html).toContain("Cost allocation by job");
    expect(html).toContain("nvidia-t4: $0.20");
    expect(html).toContain("50 %");
    expect(html).toContain("$0.40");
    expect(html).toContain(">usage not readable<");
    expect(html).toContain(">not measured<");
    expect(html).not.toContain("Not split");
  });

  it("names GPU efficiency beside CPU and memory, or says the GPUs were counted as requested", () => {
    const gpu = row({ key: "g", efficiency: 0.4, cpu_efficiency: 0.5, memory_efficiency: 0.5, gpu_efficiency: 0.25, usage: "measured" });
    const asRequested = row({ key: "r", efficiency: 0.5, cpu_efficiency: 0.5, memory_efficiency: 0.5, usage: "partly measured", usage_note: "GPU counted as requested: no DCGM" });
    const html = renderToStaticMarkup(createElement(AllocationTable, { by: "job", rows: [gpu, asRequested], total: row({ key: "total", name: "Total" }) }));
    expect(html).toContain("CPU 50 % · memory 50 % · GPU 25 %");
    expect(html).toContain("GPU as requested · partly measured: GPU counted as requested: no DCGM");
  });

  it("adds a 'Not split' column only when some cost was metered before the split", () => {
    const html = renderToStaticMarkup(createElement(AllocationTable, { by: "team", rows: [row({ unsplit_usd: 2 })], total: row({ unsplit_usd: 2 }) }));
    expect(html).toContain("Not split");
  });
});

describe("UnitCostTable", () => {
  it("puts training, serving and the cost per 1,000 predictions side by side, leaving out cost that is no model version's", () => {
    const v = row({ key: "churn-model v3", name: "churn-model v3", training_usd: 1.5, serving_usd: 0.1, total_usd: 1.6, predictions: 500, cost_per_1000_predictions_usd: 0.2 });
    const quiet = row({ key: "churn-model v4", name: "churn-model v4", predictions: 0 });
    const other = row({ key: "~storage", name: "Stored artifacts (no model version)" });
    const html = renderToStaticMarkup(createElement(UnitCostTable, { rows: [v, quiet, other] }));
    expect(html).toContain("churn-model v3");
    expect(html).toContain("$1.50");
    expect(html).toContain("500");
    expect(html).toContain("$0.20");
    expect(html).toContain("no predictions");
    expect(html).not.toContain("Stored artifacts");
  });
});
