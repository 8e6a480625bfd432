// GET /api/v1/deployments/{id}/metrics: request rate, latency percentiles and error rate of one deployment
// over a window, from the gateway's counters as Prometheus scraped them. Series are dense: one point per
// step. With no traffic the rates are 0 (the series exist from the moment a deployment serves) and the
// latencies null; where Prometheus has no sample at all (before the deployment served, a scrape that
// failed, a Prometheus that does not scrape Cairn) every series is null rather than a made-up 0.
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { prometheusUrl, queryRange } from "../observability/prometheus";
import { loadDeployment } from "./service";

export type Point = [number, number | null];
export type DeploymentMetrics = {
  window: string;
  step_seconds: number;
  series: { requests_per_second: Point[]; latency_p50_ms: Point[]; latency_p95_ms: Point[]; latency_p99_ms: Point[]; error_rate: Point[] };
};

const UNITS: Record<string, number> = { m: 60, h: 3600, d: 86_400 };
/** Points per series: enough for a chart, few enough for a fast answer. */
const POINTS = 120;

export function parseWindow(window: string): number {
  const m = /^(\d{1,4})([mhd])$/.exec(window);
  const seconds = m ? Number(m[1]) * UNITS[m[2]!]! : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < 300 || seconds > 30 * 86_400) {
    throw new AppError("invalid_input", `window must be a duration from 5m to 30d such as 15m, 1h or 7d; got '${window}'.`, { fields: { window: ["use 5m–30d, e.g. 1h"] } });
  }
  return seconds;
}

/** Aligned to the step, so repeated reads agree on their timestamps. */
function densify(points: Point[], start: number, end: number, step: number, missing: number | null): Point[] {
  const byTime = new Map(points.map(([t, v]) => [Math.round(t), v]));
  const out: Point[] = [];
  for (let t = start; t <= end; t += step) out.push([t, byTime.has(t) ? (byTime.get(t) ?? missing) : missing]);
  return out;
}

export async function deploymentMetrics(ctx: Ctx, id: string, window = "1h", scrapeSeconds = 5): Promise<DeploymentMetrics> {
  const seconds = parseWindow(window);
  const row = await loadDeployment(ctx, id, { mode: "read" });
  const url = prometheusUrl();
  const step = Math.max(scrapeSeconds, Math.ceil(seconds / POINTS));
  const end = Math.floor(Date.now() / 1000 / step) * step;
  const start = end - seconds;
  // A rate needs at least two scrapes inside its range.
  const range = `${Math.max(step, scrapeSeconds * 4)}s`;
  const sel = `deployment="${row.id}"`;
  const rate = (metric = "platform_inference_answers_total") => `sum(rate(${metric}{${sel}}[${range}]))`;
  const quantile = (q: number) => `histogram_quantile(${q}, sum by (le) (rate(platform_inference_latency_seconds_bucket{${sel}}[${range}]))) * 1000`;
  const r = { start, end, step };
  const [rps, p50, p95, p99, errors] = await Promise.all([
    queryRange(url, rate(), r),
    queryRange(url, quantile(0.5), r),
    queryRange(url, quantile(0.95), r),
    queryRange(url, quantile(0.99), r),
    queryRange(url, `clamp_max(${rate("platform_inference_errors_total")} / ${rate()}, 1)`, r),
  ]);
  const round = (points: Point[], digits: number): Point[] => points.map(([t, v]) => [t, v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits]);
  return {
    window,
    step_seconds: step,
    series: {
      requests_per_second: round(densify(rps, start, end, step, null), 3),
      latency_p50_ms: round(densify(p50, start, end, step, null), 2),
      latency_p95_ms: round(densify(p95, start, end, step, null), 2),
      latency_p99_ms: round(densify(p99, start, end, step, null), 2),
      error_rate: round(densify(errors, start, end, step, null), 4),
    },
  };
}
