// The Platform page's figures from Prometheus (PROMETHEUS_URL or the managed one): the series of the platform_*
// metrics Cairn exports at /api/metrics, as Prometheus scraped them. Errors are AppError('upstream_unavailable').
import type { MetricsPoint as Point } from "@/lib/schemas/deployments";
import type { EndpointRow, PlatformHealth } from "@/lib/schemas/platform";
import { prometheusUrl, queryRange, queryVector } from "../observability/prometheus";

const STORAGE_TYPES = ["artifacts", "code_archives", "pinned_versions"] as const;
const round = (v: number | null, digits: number) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

function densify(points: Point[], start: number, end: number, step: number, digits: number): Point[] {
  const byTime = new Map(points.map(([t, v]) => [Math.round(t), v]));
  const out: Point[] = [];
  for (let t = start; t <= end; t += step) out.push([t, round(byTime.get(t) ?? null, digits)]);
  return out;
}

export type PrometheusFigures = Omit<PlatformHealth, "window" | "source" | "notice" | "gpus"> & { gpus: { team: string; allocated: number; utilization: number | null }[] };

export async function healthFromPrometheus(seconds: number, scrapeSeconds: number): Promise<PrometheusFigures> {
  const url = prometheusUrl();
  const step = Math.max(scrapeSeconds, Math.ceil(seconds / 120));
  const end = Math.floor(Date.now() / 1000 / step) * step;
  const start = end - seconds;
  const r = { start, end, step };
  const range = `${Math.max(step, scrapeSeconds * 4)}s`;
  const win = `${seconds}s`;
  const requests = "platform_api_requests_total";
  const quantile = (q: number, by = "le", over = range) => `histogram_quantile(${q}, sum by (${by}) (rate(platform_api_latency_seconds_bucket[${over}]))) * 1000`;
  const [rps, p50, p95, p99, errors, depth, oldest, users, byEndpoint, errorsByEndpoint, clientByEndpoint, e50, e95, e99, totals, totalQ, queueNow, usersNow, storage, gpuAlloc, gpuUse, waits] = await Promise.all([
    queryRange(url, `sum(rate(${requests}[${range}]))`, r),
    queryRange(url, quantile(0.5), r),
    queryRange(url, quantile(0.95), r),
    queryRange(url, quantile(0.99), r),
    queryRange(url, `clamp_max(sum(rate(${requests}{status=~"5.."}[${range}])) / sum(rate(${requests}[${range}])), 1)`, r),
    queryRange(url, "sum(platform_job_queue_depth)", r),
    queryRange(url, "max(platform_job_queue_oldest_wait_seconds)", r),
    queryRange(url, "sum(platform_active_users)", r),
    queryVector(url, `topk(25, sum by (endpoint, method) (increase(${requests}[${win}])))`),
    queryVector(url, `sum by (endpoint, method) (increase(${requests}{status=~"5.."}[${win}]))`),
    queryVector(url, `sum by (endpoint, method) (increase(${requests}{status=~"4.."}[${win}]))`),
    queryVector(url, quantile(0.5, "le, endpoint", win)),
    queryVector(url, quantile(0.95, "le, endpoint", win)),
    queryVector(url, quantile(0.99, "le, endpoint", win)),
    queryVector(url, `sum(increase(${requests}[${win}])) or vector(0)`),
    Promise.all([0.5, 0.95, 0.99].map((q) => queryVector(url, quantile(q, "le", win)))),
    queryVector(url, "sum(platform_job_queue_depth) or vector(0)"),
    queryVector(url, "sum(platform_active_users) or vector(0)"),
    queryVector(url, "platform_storage_usage_bytes"),
    queryVector(url, "sum by (team) (platform_gpu_allocated)"),
    // Allocated shares only (what `utilization` means here); measured ones are in gpus.nodes.
    queryVector(url, 'sum by (team) (platform_gpu_utilization * on (team, node) group_left platform_gpu_utilization_info{source="allocated"})'),
    Promise.all([
      queryVector(url, `sum(increase(platform_job_queue_wait_seconds_count[${win}])) or vector(0)`),
      queryVector(url, `sum(increase(platform_job_queue_wait_seconds_sum[${win}])) or vector(0)`),
      queryVector(url, "max(platform_job_queue_oldest_wait_seconds) or vector(0)"),
      queryRange(url, `sum(rate(platform_job_queue_wait_seconds_sum[${range}])) / sum(rate(platform_job_queue_wait_seconds_count[${range}]))`, r),
    ]),
  ]);
  const key = (l: Record<string, string>) => `${l.method ?? ""} ${l.endpoint ?? ""}`;
  const pick = (rows: { labels: Record<string, string>; value: number | null }[], by: (l: Record<string, string>) => string) => new Map(rows.map((x) => [by(x.labels), x.value]));
  const errs = pick(errorsByEndpoint, key);
  const client = pick(clientByEndpoint, key);
  const [q50, q95, q99] = [e50, e95, e99].map((rows) => pick(rows, (l) => l.endpoint ?? ""));
  const endpoints: EndpointRow[] = byEndpoint
    .filter((x) => (x.value ?? 0) > 0)
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0))
    .map((x) => {
      const n = Math.round(x.value ?? 0);
      const e = Math.round(errs.get(key(x.labels)) ?? 0);
      return {
        endpoint: x.labels.endpoint ?? "", method: x.labels.method ?? "*", requests: n, requests_per_second: round(n / seconds, 4)!, errors: e,
        error_rate: n > 0 ? round(Math.min(1, e / n), 4) : null, client_errors: Math.round(client.get(key(x.labels)) ?? 0),
        latency_p50_ms: round(q50!.get(x.labels.endpoint ?? "") ?? null, 2), latency_p95_ms: round(q95!.get(x.labels.endpoint ?? "") ?? null, 2), latency_p99_ms: round(q99!.get(x.labels.endpoint ?? "") ?? null, 2),
      };
    });
  const total = Math.round(totals[0]?.value ?? 0);
  const totalErrors = endpoints.reduce((n, e) => n + e.errors, 0);
  const [startedRows, waitSumRows, oldestRows, waitSeries] = waits;
  const started = Math.round(startedRows[0]?.value ?? 0);
  return {
    step_seconds: step,
    api: {
      requests: total, errors: totalErrors, error_rate: total > 0 ? round(Math.min(1, totalErrors / total), 4) : null,
      latency_p50_ms: round(totalQ[0]![0]?.value ?? null, 2), latency_p95_ms: round(totalQ[1]![0]?.value ?? null, 2), latency_p99_ms: round(totalQ[2]![0]?.value ?? null, 2),
      series: {
        requests_per_second: densify(rps, start, end, step, 3), latency_p50_ms: densify(p50, start, end, step, 2), latency_p95_ms: densify(p95, start, end, step, 2),
        latency_p99_ms: densify(p99, start, end, step, 2), error_rate: densify(errors, start, end, step, 4),
      },
      endpoints,
    },
    queue: {
      depth: Math.round(queueNow[0]?.value ?? 0), oldest_wait_seconds: round(oldestRows[0]?.value ?? 0, 1)!, running: 0, started,
      wait_mean_seconds: started > 0 ? round((waitSumRows[0]?.value ?? 0) / started, 1) : null, wait_max_seconds: null,
      series: { depth: densify(depth, start, end, step, 0), oldest_wait_seconds: densify(oldest, start, end, step, 1), wait_mean_seconds: densify(waitSeries, start, end, step, 1) },
    },
    active_users: { last_15m: Math.round(usersNow[0]?.value ?? 0), last_hour: 0, series: densify(users, start, end, step, 0) },
    storage: storage.flatMap((x) => {
      const type = STORAGE_TYPES.find((t) => t === x.labels.type);
      return x.labels.team && type ? [{ team: x.labels.team, type, bytes: x.value ?? 0 }] : [];
    }).sort((a, b) => a.team.localeCompare(b.team) || a.type.localeCompare(b.type)),
    gpus: gpuAlloc.filter((x) => x.labels.team).map((x) => ({
      team: x.labels.team!, allocated: x.value ?? 0, utilization: round(gpuUse.find((u) => u.labels.team === x.labels.team)?.value ?? null, 4),
    })).sort((a, b) => a.team.localeCompare(b.team)),
  };
}
