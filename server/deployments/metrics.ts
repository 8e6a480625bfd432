// GET /api/v1/deployments/{id}/metrics: request rate, latency percentiles and error share of one deployment
// over a window, as dense series (one point per step). With a Prometheus (PROMETHEUS_URL, or the managed one)
// they come from the gateway's counters as Prometheus scraped them, at the scrape's resolution; without one —
// or when it does not answer — from Cairn's own per-minute rollups (./metrics-rollups.ts), and the answer says
// which (`source`). With no traffic the rates are 0 and the latencies null; where nothing was measured at all
// (before the deployment existed, a failed scrape) every series is null rather than a made-up 0.
import type { DeploymentMetrics, MetricsPoint as Point, MetricsSeries } from "@/lib/schemas/deployments";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { prometheusProblem, prometheusReady, prometheusUrl, queryRange } from "../observability/prometheus";
import { rollupSeries } from "./metrics-rollups";
import { loadDeployment } from "./service";
import { log } from "../observability/log";

export type { DeploymentMetrics } from "@/lib/schemas/deployments";

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

async function fromPrometheus(deploymentId: string, seconds: number, scrapeSeconds: number): Promise<{ step: number; series: MetricsSeries }> {
  const url = prometheusUrl();
  const step = Math.max(scrapeSeconds, Math.ceil(seconds / POINTS));
  const end = Math.floor(Date.now() / 1000 / step) * step;
  const start = end - seconds;
  // A rate needs at least two scrapes inside its range.
  const range = `${Math.max(step, scrapeSeconds * 4)}s`;
  const sel = `deployment="${deploymentId}"`;
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
    step,
    series: {
      requests_per_second: round(densify(rps, start, end, step, null), 3),
      latency_p50_ms: round(densify(p50, start, end, step, null), 2),
      latency_p95_ms: round(densify(p95, start, end, step, null), 2),
      latency_p99_ms: round(densify(p99, start, end, step, null), 2),
      error_rate: round(densify(errors, start, end, step, null), 4),
    },
  };
}

export type MetricsInput = {
  id: string;
  /** 5m–30d, e.g. 1h. */
  window?: string;
  /** How often Prometheus scrapes Cairn (CAIRN_PROMETHEUS_SCRAPE_SECONDS): its finest step. */
  scrapeSeconds?: number;
};

export async function deploymentMetrics(ctx: Ctx, input: MetricsInput): Promise<DeploymentMetrics> {
  const window = input.window ?? "1h";
  const seconds = parseWindow(window);
  const row = await loadDeployment(ctx, input.id, { mode: "read" });
  let notice: string | null = null;
  if (prometheusReady()) {
    try {
      const { step, series } = await fromPrometheus(row.id, seconds, input.scrapeSeconds ?? 5);
      return { window, step_seconds: step, source: "prometheus", notice: null, series };
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== "upstream_unavailable") throw err;
      log.error(`metrics: Prometheus did not answer for deployment ${row.id}; answering from the rollups`, { err: err.message });
      // The cause (an internal address) is the operators' to read, in the log.
      notice = "Prometheus did not answer, so these are Cairn's own per-minute rollups.";
    }
  } else if (prometheusProblem()) {
    notice = "The managed Prometheus did not start (the server log says why), so these are Cairn's own per-minute rollups.";
  }
  // Whole minutes per step: each point sums whole rollup rows.
  const step = Math.max(1, Math.ceil(seconds / POINTS / 60)) * 60;
  const end = Math.floor(Date.now() / 1000 / step) * step;
  const series = await rollupSeries(ctx.db, {
    deploymentId: row.id, deploymentVersion: row.version, start: end - Math.ceil(seconds / step) * step, end, step, since: row.createdAt.getTime() / 1000,
  });
  return { window, step_seconds: step, source: "cairn", notice, series };
}
