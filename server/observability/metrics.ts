// The platform's own Prometheus metrics (served at /api/metrics), one registry per process.
import { and, count, eq, gt, isNull } from "drizzle-orm";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { memberships, teams, users } from "@/db/schema";
import { getDatabase } from "@/db/client";
import { getReadyDb } from "../bootstrap";
import { env } from "../env";
import { endpointTemplate, recordApiRequest } from "./api-rollups";
import { registerPlatformGauges } from "./platform-gauges";

export const ACTIVE_WINDOW_MINUTES = 15;

type PlatformMetrics = {
  registry: Registry;
  requests: Counter<"endpoint" | "method" | "status">;
  latency: Histogram<"endpoint">;
  inferences: Counter<"team" | "deployment" | "status">;
  inferenceAnswers: Counter<"team" | "deployment">;
  inferenceErrors: Counter<"team" | "deployment">;
  inferenceLatency: Histogram<"team" | "deployment">;
  queueWait: Histogram<"team">;
};

function create(): PlatformMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "cairn_process_" });
  const requests = new Counter({
    name: "platform_api_requests_total",
    help: "API requests by route pattern, method and status code",
    labelNames: ["endpoint", "method", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "platform_api_latency_seconds",
    help: "API request latency by route pattern",
    labelNames: ["endpoint"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // The inference gateway: every request to /serve/<team>/<deployment>/…, answered or refused.
  const inferences = new Counter({
    name: "platform_inference_requests_total",
    help: "Inference gateway requests by team, deployment and status code",
    labelNames: ["team", "deployment", "status"] as const,
    registers: [registry],
  });
  // Rates come from these two: both are created at zero when a deployment starts serving and are scraped
  // together, so errors ≤ answers holds in every window (a new per-status series would lose its first count).
  const inferenceAnswers = new Counter({
    name: "platform_inference_answers_total",
    help: "Inference gateway answers (any status) by team and deployment (created at 0 when a deployment starts serving)",
    labelNames: ["team", "deployment"] as const,
    registers: [registry],
  });
  const inferenceErrors = new Counter({
    name: "platform_inference_errors_total",
    help: "Inference gateway answers with a 5xx status by team and deployment (created at 0 when a deployment starts serving)",
    labelNames: ["team", "deployment"] as const,
    registers: [registry],
  });
  const inferenceLatency = new Histogram({
    name: "platform_inference_latency_seconds",
    help: "Inference gateway latency (gateway in to answer out) by team and deployment",
    labelNames: ["team", "deployment"] as const,
    // Up to the gateway's 30 s replica timeout, so a slow p99 reads as slow rather than capped.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: "platform_active_users",
    help: `Users of each team with an authenticated request in the last ${ACTIVE_WINDOW_MINUTES} minutes`,
    labelNames: ["team"] as const,
    registers: [registry],
    async collect() {
      const db = await getReadyDb();
      const since = new Date(Date.now() - ACTIVE_WINDOW_MINUTES * 60_000);
      const rows = await db
        .select({ team: teams.slug, n: count(users.id) })
        .from(teams)
        .leftJoin(memberships, eq(memberships.teamId, teams.id))
        .leftJoin(users, and(eq(users.id, memberships.userId), gt(users.lastActiveAt, since)))
        .where(isNull(teams.archivedAt))
        .groupBy(teams.slug);
      this.reset();
      for (const r of rows) this.set({ team: r.team }, Number(r.n));
    },
  });
  new Gauge({
    name: "platform_info",
    help: "Build and backend information (always 1)",
    labelNames: ["version", "db_backend", "compute_backend"] as const,
    registers: [registry],
    async collect() {
      const { backend } = await getDatabase();
      this.reset();
      this.set({ version: env().version, db_backend: backend, compute_backend: env().computeBackend }, 1);
    },
  });
  const { queueWait } = registerPlatformGauges(registry, getReadyDb);
  return { registry, requests, latency, inferences, inferenceAnswers, inferenceErrors, inferenceLatency, queueWait };
}

const globalForMetrics = globalThis as unknown as { __cairnMetrics?: PlatformMetrics };

export function platformMetrics(): PlatformMetrics {
  globalForMetrics.__cairnMetrics ??= create();
  return globalForMetrics.__cairnMetrics;
}

export function observeRequest(route: string, method: string, status: number, seconds: number): void {
  const m = platformMetrics();
  // Route wrappers pass patterns; a raw id that slipped through would become a series of its own.
  const endpoint = endpointTemplate(route);
  m.requests.inc({ endpoint, method, status: String(status) });
  m.latency.observe({ endpoint }, seconds);
  // Cairn's own per-minute rollups too (the Platform page without Prometheus).
  recordApiRequest({ endpoint, method, status, seconds });
}

export function observeInference(team: string, deployment: string, status: number, seconds: number): void {
  const m = platformMetrics();
  m.inferences.inc({ team, deployment, status: String(status) });
  m.inferenceAnswers.inc({ team, deployment });
  if (status >= 500) m.inferenceErrors.inc({ team, deployment });
  m.inferenceLatency.observe({ team, deployment }, seconds);
}

/** A job's wait from submit to its first attempt's start (the scheduler calls it as it starts one). */
export function observeQueueWait(team: string, seconds: number): void {
  platformMetrics().queueWait.observe({ team }, Math.max(0, seconds));
}

/**
 * Creates a deployment's series at zero when it starts serving. Prometheus sees a counter's increase only
 * from its first scrape on, so a series born with its first request would hide that request from rate().
 */
export function touchInferenceSeries(team: string, deployment: string): void {
  const m = platformMetrics();
  m.inferences.inc({ team, deployment, status: "200" }, 0);
  m.inferenceAnswers.inc({ team, deployment }, 0);
  m.inferenceErrors.inc({ team, deployment }, 0);
}
