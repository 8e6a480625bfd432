// GET /api/v1/platform/health and the admins' Platform page: the API's request rate, latency and errors by
// endpoint, the job queue and its waits, active users, storage by team and type, GPUs by team, and GPU use by team
// and node now, measured or allocated (observability/gpu-use.ts). With a Prometheus (PROMETHEUS_URL, or the managed
// one) from the platform_* series it scraped; without one — or when it does not answer — from Cairn's own
// per-minute rollups, and the answer says which (`source`), as deployment metrics do.
import { sql } from "drizzle-orm";
import type { PlatformHealth } from "@/lib/schemas/platform";
import { denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { parseWindow } from "../deployments/metrics";
import { env } from "../env";
import { AppError } from "../errors";
import { ACTIVE_WINDOW_MINUTES } from "../observability/metrics";
import { gpuRows, gpuUse, localGpuCount } from "../observability/gpu-use";
import { storageByTeam } from "../observability/platform-gauges";
import { prometheusProblem, prometheusReady } from "../observability/prometheus";
import { healthFromPrometheus } from "./health-prometheus";
import { apiFromRollups, queueAndUsersFromRollups } from "./health-rollups";
import { log } from "../observability/log";

export type { PlatformHealth } from "@/lib/schemas/platform";

/** Points per series: enough for a chart, few enough for a fast answer. */
const POINTS = 120;

type Now = { depth: number; oldest: number; running: number; active: number; activeHour: number };

/** The queue and active users as the database holds them now (the same reads as the gauges at /api/metrics). */
async function currentState(ctx: Ctx): Promise<Now> {
  const result = (await ctx.db.execute(sql`
    select
      (select count(*) from jobs where status in ('queued', 'admitted'))::int as depth,
      coalesce((select extract(epoch from (now() - min(queued_at))) from jobs where status in ('queued', 'admitted')), 0)::float8 as oldest,
      (select count(*) from jobs where status = 'running')::int as running,
      (select count(*) from users where last_active_at > now() - make_interval(mins => ${ACTIVE_WINDOW_MINUTES}) and deactivated_at is null)::int as active,
      (select count(*) from users where last_active_at > now() - interval '1 hour' and deactivated_at is null)::int as active_hour`)) as unknown as {
    rows: { depth: number | string; oldest: number | string; running: number | string; active: number | string; active_hour: number | string }[];
  };
  const r = result.rows[0]!;
  return { depth: Number(r.depth), oldest: Math.max(0, Math.round(Number(r.oldest) * 10) / 10), running: Number(r.running), active: Number(r.active), activeHour: Number(r.active_hour) };
}

export type HealthInput = {
  /** 5m–30d, e.g. 1h. */
  window?: string;
  /** How often Prometheus scrapes Cairn (CAIRN_PROMETHEUS_SCRAPE_SECONDS): its finest step. */
  scrapeSeconds?: number;
  /** Tests: the moment (unix seconds) the rollups' window ends at; now by default. */
  now?: number;
};

export async function platformHealth(ctx: Ctx, input: HealthInput = {}): Promise<PlatformHealth> {
  // Platform-wide, so refused as forbidden (there is nothing team-scoped to hide).
  if (!can(ctx.actor, "manage_platform")) throw await denied(ctx, { action: "platform.health.read", target: "platform", mode: "write", message: "Only platform admins see the platform's health." });
  const window = input.window ?? "1h";
  const seconds = parseWindow(window);
  const [state, nodes] = await Promise.all([currentState(ctx), gpuUse(ctx.db)]);
  let notice: string | null = null;
  if (prometheusReady()) {
    try {
      const p = await healthFromPrometheus(seconds, input.scrapeSeconds ?? env().prometheus.scrapeSeconds);
      return {
        window, source: "prometheus", notice: null, step_seconds: p.step_seconds, api: p.api,
        queue: { ...p.queue, running: state.running },
        // Distinct users now from the database: the gauge counts per team (an admin in no team not at all).
        active_users: { series: p.active_users.series, last_15m: state.active, last_hour: state.activeHour },
        storage: p.storage,
        gpus: { capacity: localGpuCount(), teams: p.gpus, nodes },
      };
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== "upstream_unavailable") throw err;
      log.warn("platform health: Prometheus did not answer; answering from the rollups", { err: err.message });
      notice = "Prometheus did not answer, so these are Cairn's own per-minute rollups.";
    }
  } else if (prometheusProblem()) {
    notice = "The managed Prometheus did not start (the server log says why), so these are Cairn's own per-minute rollups.";
  }
  // Whole minutes per step: each point sums whole rollup rows.
  const step = Math.max(1, Math.ceil(seconds / POINTS / 60)) * 60;
  const end = Math.floor((input.now ?? Date.now() / 1000) / step) * step;
  const range = { start: end - Math.ceil(seconds / step) * step, end, step, now: input.now };
  const [api, history, storage, gpus] = await Promise.all([apiFromRollups(ctx.db, range), queueAndUsersFromRollups(ctx.db, range), storageByTeam(ctx.db), gpuRows(ctx.db)]);
  const capacity = localGpuCount();
  return {
    window, source: "cairn", notice, step_seconds: step, api,
    queue: {
      depth: state.depth, oldest_wait_seconds: state.oldest, running: state.running, started: history.queue.started, wait_mean_seconds: history.queue.mean, wait_max_seconds: history.queue.max,
      series: { depth: history.queue.depth, oldest_wait_seconds: history.queue.oldest_wait_seconds, wait_mean_seconds: history.queue.wait_mean_seconds },
    },
    active_users: { last_15m: state.active, last_hour: state.activeHour, series: history.users },
    storage: storage.flatMap((s) => [
      { team: s.team, type: "artifacts" as const, bytes: s.artifacts },
      { team: s.team, type: "code_archives" as const, bytes: s.code },
      { team: s.team, type: "pinned_versions" as const, bytes: s.pinned },
    ]),
    gpus: { capacity, teams: gpus.map((g) => ({ team: g.team, allocated: g.gpus, utilization: capacity > 0 ? Math.min(1, Math.round((g.gpus / capacity) * 10_000) / 10_000) : null })), nodes },
  };
}
