// The experiment chart panel's URL state (so a link reopens the same charts), beside the runs table's state.
import type { ChartBrush } from "./chart-brush";
import { brushesFromFilter, brushesToFilter } from "./chart-brush";

export type ChartState = {
  /** Whether the chart panel is open. */
  open: boolean;
  /** Metric drawn over steps for every run. */
  metric: string;
  /** Objective metric: the last axis of the parallel coordinates and the target of parameter importance. */
  objective: string;
  /** Param axes of the parallel coordinates, in order. */
  axes: string[];
  /** Scatter keys: params.<k>, metrics.<k> or attributes.<k>. */
  x: string;
  y: string;
  /** Brushed ranges: they narrow the runs table (and stay when the panel closes, with a chip saying so). */
  brushes: ChartBrush[];
  /** Why the link's `brush=` could not be read (then no brush applies). */
  brushError?: string;
};

const CHART_PARAMS = ["charts", "cm", "obj", "pc", "sx", "sy", "brush"] as const;
const SCATTER_KEY = /^(params|metrics|attributes)\.\S/;

export function readChartState(sp: Record<string, string | undefined>, defaults: { metrics: string[]; params: string[] }): ChartState {
  const metric = sp.cm || defaults.metrics[0] || "";
  const objective = sp.obj || defaults.metrics[0] || "";
  const axes = sp.pc !== undefined ? sp.pc.split(",").map((a) => a.trim()).filter(Boolean).slice(0, 30) : defaults.params.slice(0, 6);
  const x = sp.sx && SCATTER_KEY.test(sp.sx) ? sp.sx : defaults.params[0] ? `params.${defaults.params[0]}` : "attributes.start_time";
  const y = sp.sy && SCATTER_KEY.test(sp.sy) ? sp.sy : objective ? `metrics.${objective}` : "attributes.duration";
  return { open: sp.charts === "1", metric, objective, axes, x, y, ...readBrushes(sp) };
}

/** The brushes of the link (`brush=`, filter conditions as brushesToFilter writes them). */
export function readBrushes(sp: Record<string, string | undefined>): { brushes: ChartBrush[]; brushError?: string } {
  if (!sp.brush) return { brushes: [] };
  const { brushes, error } = brushesFromFilter(sp.brush);
  return error ? { brushes: [], brushError: error } : { brushes };
}

/** The chart params of `state`; only `charts=1` when the rest is default, so plain links stay short. */
export function chartStateToParams(state: ChartState): URLSearchParams {
  const q = new URLSearchParams();
  const brush = brushesToFilter(state.brushes);
  if (brush) q.set("brush", brush);
  if (!state.open) return q;
  q.set("charts", "1");
  if (state.metric) q.set("cm", state.metric);
  if (state.objective) q.set("obj", state.objective);
  q.set("pc", state.axes.join(","));
  q.set("sx", state.x);
  q.set("sy", state.y);
  return q;
}

/** `base` (a query string) with the chart params replaced by those of `state`. */
export function withChartState(base: string, state: ChartState): string {
  const q = new URLSearchParams(base);
  for (const p of CHART_PARAMS) q.delete(p);
  for (const [k, v] of chartStateToParams(state)) q.set(k, v);
  return q.toString();
}
