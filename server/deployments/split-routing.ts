// Which variant of an active split a request to the stable address goes to. Random by the split's weight,
// or — for a sticky split with the request's X-Cairn-Split-Key — by a hash of the key (salted with the split's
// id), so one key always lands on the same variant for the split's life. A candidate that does not serve
// yet takes nothing.
import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { SplitVariant } from "@/db/schema";
import { deploymentSplits, deployments } from "@/db/schema";

/** The candidate's share, 0–100, that a key hashes to: uniform over keys, fixed per split and key. */
export function keyPoint(splitId: string, key: string): number {
  return (createHash("sha256").update(`${splitId}\u0000${key}`).digest().readUInt32BE(0) / 2 ** 32) * 100;
}

export function pickVariant(split: { id: string; weight: number; sticky: boolean }, key: string | null, random: () => number = Math.random): SplitVariant {
  const point = split.sticky && key ? keyPoint(split.id, key) : random() * 100;
  return point < split.weight ? "candidate" : "baseline";
}

export type SplitRoute = { splitId: string; variant: SplitVariant; id: string; version: number; model: string; backend: string };

/** The active split whose baseline is `baselineId`, with its candidate's state; null without one. */
export type ActiveSplit = { id: string; weight: number; sticky: boolean; candidate: { id: string; status: string; version: number; model: string; backend: string } };

export async function activeSplitOf(db: DbOrTx, baselineId: string): Promise<ActiveSplit | null> {
  const [s] = await db
    .select({ id: deploymentSplits.id, weight: deploymentSplits.weight, sticky: deploymentSplits.sticky, candidate: { id: deployments.id, status: deployments.status, version: deployments.version, model: deployments.modelName, backend: deployments.backend } })
    .from(deploymentSplits)
    .innerJoin(deployments, eq(deployments.id, deploymentSplits.candidateId))
    .where(and(eq(deploymentSplits.baselineId, baselineId), eq(deploymentSplits.status, "active")))
    .limit(1);
  return s ?? null;
}

/** Where one request `split` sees goes: the baseline, or the candidate once it serves (by weight, or by the key when sticky). */
export function splitRoute(s: ActiveSplit, baseline: { id: string; version: number; model: string; backend: string }, key: string | null): SplitRoute {
  const variant = s.candidate.status === "ready" ? pickVariant(s, key) : "baseline";
  if (variant === "baseline") return { splitId: s.id, variant, ...baseline };
  return { splitId: s.id, variant, id: s.candidate.id, version: s.candidate.version, model: s.candidate.model, backend: s.candidate.backend };
}

/** SQL: `deployments` row is the candidate of an active split (such a deployment is not what its environment's address reaches). */
export const isActiveCandidate = sql`exists (select 1 from ${deploymentSplits} where ${deploymentSplits.candidateId} = ${deployments.id} and ${deploymentSplits.status} = 'active')`;
