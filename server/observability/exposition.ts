// What /api/metrics shows to whom. Team slugs, deployment ids and per-team user counts are tenant data: the
// labelled exposition needs the scrape token (CAIRN_METRICS_TOKEN, which the managed Prometheus sends) or
// a platform admin (session or API token). Anyone else gets the same metrics summed over those labels.
// A bearer credential that is neither the scrape token nor a valid API token answers 401, so a
// misconfigured scraper shows as a failed target instead of silently losing its labels.
import { timingSafeEqual } from "node:crypto";
import { AggregatorRegistry } from "prom-client";
import type { MetricObjectWithValues, MetricValue, Registry } from "prom-client";
import type { Db } from "@/db/client";
import { credentialFromHeader, resolveRequestActor } from "../auth/request-actor";
import { resolveTokenActor } from "../auth/token-actor";
import { metricsToken } from "../env";
import { platformMetrics } from "./metrics";

/** Labels that name a tenant, a deployment or a user; summed away in the public exposition. */
export const TENANT_LABELS = new Set(["team", "deployment", "user"]);

export type MetricsView = "labelled" | "aggregated";

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Which exposition the request may read; throws unauthenticated (401) for a bearer that is not valid. */
export async function metricsView(db: Db, req: Request): Promise<MetricsView> {
  const authorization = req.headers.get("authorization");
  if (authorization !== null) {
    const credential = credentialFromHeader(authorization);
    if (sameSecret(credential, metricsToken())) return "labelled";
    const actor = await resolveTokenActor(db, credential);
    return actor.isAdmin ? "labelled" : "aggregated";
  }
  const resolved = await resolveRequestActor(db, req);
  return resolved?.actor.isAdmin ? "labelled" : "aggregated";
}

/** The registry's metrics with tenant labels removed and the series they separated summed. */
export async function aggregatedRegistry(registry: Registry = platformMetrics().registry): Promise<Registry> {
  const metrics = await registry.getMetricsAsJSON();
  const stripped = metrics.map((m): MetricObjectWithValues<MetricValue<string>> => {
    const hidden = m.values.some((v) => Object.keys(v.labels).some((l) => TENANT_LABELS.has(l)));
    return {
      ...m,
      help: hidden ? `${m.help} (summed over team and deployment; the scrape token shows them)` : m.help,
      // One registry in, so "sum" only merges the series that differed by a removed label.
      aggregator: "sum",
      values: m.values.map((v) => ({
        ...v,
        labels: Object.fromEntries(Object.entries(v.labels).filter(([l]) => !TENANT_LABELS.has(l))),
      })),
    };
  });
  return AggregatorRegistry.aggregate([stripped]);
}
