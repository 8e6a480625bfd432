// Stable endpoints: a model has one address per environment, /serve/<team>/<model>/<environment>/…, that
// reaches whichever deployment serves that environment now, so it survives promotion, rollback and
// replacement; /serve/<team>/<deployment id>/… pins one deployment. Kept apart from the gateway so the
// service and the registry can name and resolve addresses without loading the serving runtime.
import { and, desc, eq, gt, inArray, isNotNull, lte, ne, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { DeploymentEnvironment, DeploymentStatus } from "@/db/schema";
import { DEPLOYMENT_ENVIRONMENTS, LIVE_DEPLOYMENT_STATUSES, deploymentSplits, deployments } from "@/db/schema";
import { isActiveCandidate } from "./split-routing";

/** A model's stable address in one environment (the model name percent-encoded, as a path segment must be). */
export const stableEndpointOf = (team: string, model: string, environment: DeploymentEnvironment) => `/serve/${team}/${encodeURIComponent(model)}/${environment}`;

export type ServeAddress =
  | { kind: "model"; model: string; environment: DeploymentEnvironment; path: string[] }
  | { kind: "deployment"; id: string; path: string[] };

const isEnvironment = (s: string | undefined): s is DeploymentEnvironment => (DEPLOYMENT_ENVIRONMENTS as readonly (string | undefined)[]).includes(s);

/**
 * What /serve/<team>/<segment>/<path…> names. The segment after `segment` decides: `staging` or
 * `production` makes `segment` a model name (the stable address); anything else makes it a deployment id
 * (the pinned address, whose own paths start with `v2` or `invocations`, never with an environment). So a
 * model named like a deployment's UUID is reached at /serve/<team>/<uuid>/<environment>/…, and the
 * deployment with that id at /serve/<team>/<uuid>/v2/… — one address never means both.
 */
export function serveAddress(segment: string, path: string[]): ServeAddress {
  const [first, ...rest] = path;
  if (isEnvironment(first)) return { kind: "model", model: segment, environment: first, path: rest };
  return { kind: "deployment", id: segment, path };
}

/** `splitId`: the active traffic split this deployment is the baseline of (null: none), read in the same query so the gateway asks no more without one. */
export type EnvironmentDeployment = { id: string; modelName: string; version: number; status: DeploymentStatus; backend: string; splitId: string | null };

/**
 * The deployment a model's environment address reaches: of its live deployments in that environment,
 * the one that began serving last (`ready_at`, then the newest). In production that is the one the
 * protected alias follows — a production deployment that serves replaces every other at once (see
 * promoteProduction), so between its first ready answer and that switch it is already the one routed to.
 * In staging, where several may serve side by side, it is the one deployed (and serving) last.
 * When none serves, the newest live one that is still starting (or scaled to zero) is returned instead,
 * so the caller can say so; null when the environment has no live deployment at all. The candidate of an
 * active traffic split is never it: the split routes its share through the baseline's address (./split-routing.ts).
 */
export async function environmentDeployment(db: DbOrTx, modelId: string, environment: DeploymentEnvironment): Promise<EnvironmentDeployment | null> {
  const [row] = await db
    .select({ id: deployments.id, modelName: deployments.modelName, version: deployments.version, status: deployments.status, backend: deployments.backend, splitId: deploymentSplits.id })
    .from(deployments)
    .leftJoin(deploymentSplits, and(eq(deploymentSplits.baselineId, deployments.id), eq(deploymentSplits.status, "active")))
    .where(and(eq(deployments.modelId, modelId), eq(deployments.environment, environment), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]), sql`not ${isActiveCandidate}`))
    .orderBy(sql`${deployments.status} = 'ready' desc`, sql`${deployments.readyAt} desc nulls last`, desc(deployments.createdAt), desc(deployments.id))
    .limit(1);
  return row ?? null;
}

/**
 * Whether a stopped production deployment was replaced (by a promotion or a rollback) rather than stopped
 * by hand: a later production deployment of the model had begun serving when it stopped — the runtime
 * stops the older one only once its successor serves. Derived from the rows, so nothing new is stored.
 */
export async function wasReplaced(db: DbOrTx, d: { id: string; modelId: string; environment: DeploymentEnvironment; status: DeploymentStatus; createdAt: Date; stoppedAt: Date | null }): Promise<boolean> {
  if (d.environment !== "production" || d.status !== "stopped" || d.stoppedAt === null) return false;
  const [later] = await db
    .select({ id: deployments.id })
    .from(deployments)
    .where(and(
      eq(deployments.modelId, d.modelId), eq(deployments.environment, "production"), ne(deployments.id, d.id),
      gt(deployments.createdAt, d.createdAt), isNotNull(deployments.readyAt), lte(deployments.readyAt, d.stoppedAt),
    ))
    .limit(1);
  return Boolean(later);
}

export type StableEndpointDto = {
  environment: DeploymentEnvironment;
  /** The gateway base path: `/serve/<team>/<model>/<environment>`. */
  endpoint: string;
  /** The deployment it reaches now (null: nothing serves that environment). */
  deployment_id: string | null;
  version: number | null;
};

/** A model's two stable addresses (production first) and what each reaches now, for the model page and GET /api/v1/models/{name}. */
export async function stableEndpointsOf(db: DbOrTx, model: { id: string; name: string; team: string }): Promise<StableEndpointDto[]> {
  return Promise.all((["production", "staging"] as const).map(async (environment) => {
    const d = await environmentDeployment(db, model.id, environment);
    const serving = d?.status === "ready" ? d : null;
    return { environment, endpoint: stableEndpointOf(model.team, model.name, environment), deployment_id: serving?.id ?? null, version: serving?.version ?? null };
  }));
}
