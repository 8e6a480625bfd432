// The split guard's pass (run by the "splits" worker loop): aborts an active split whose candidate regressed
// past the thresholds its starter set — error share above the baseline's by more than X percentage points, or
// p99 latency above the baseline's by more than Y ms, once both variants served the minimum number of
// requests — recording the numbers that triggered it; ends a split one of whose deployments no longer serves
// (stopped by hand, failed, replaced); and prunes the request log and labels past their retention.
import { eq, lt } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "@/db/client";
import { LIVE_DEPLOYMENT_STATUSES, deploymentSplits, deployments, splitFeedback, splitRequestLog } from "@/db/schema";
import { systemCtx } from "../context";
import { endSplit } from "./split";
import { variantFigures } from "./split-figures";

const GUARD = "split guard (automatic abort)";

/** Whether the candidate regressed past the split's thresholds; the reason and the numbers when it did. */
export function regression(
  s: { maxErrorSharePoints: number | null; maxP99IncreaseMs: number | null; minRequests: number },
  f: { baseline: { requests: number; error_share: number | null; latency_p99_ms: number | null }; candidate: { requests: number; error_share: number | null; latency_p99_ms: number | null } },
): { reason: string; details: Record<string, unknown> } | null {
  const { baseline: b, candidate: c } = f;
  if (b.requests < s.minRequests || c.requests < s.minRequests) return null;
  const numbers = {
    baseline_requests: b.requests, candidate_requests: c.requests, baseline_error_share: b.error_share, candidate_error_share: c.error_share,
    baseline_p99_ms: b.latency_p99_ms, candidate_p99_ms: c.latency_p99_ms, min_requests: s.minRequests,
  };
  if (s.maxErrorSharePoints !== null && b.error_share !== null && c.error_share !== null) {
    const points = (c.error_share - b.error_share) * 100;
    if (points > s.maxErrorSharePoints) {
      return {
        reason: `candidate error share ${(c.error_share * 100).toFixed(2)} % is ${points.toFixed(2)} points above the baseline's ${(b.error_share * 100).toFixed(2)} % (threshold ${s.maxErrorSharePoints} points; ${c.requests} and ${b.requests} requests)`,
        details: { ...numbers, trigger: "error_share", error_share_points: Math.round(points * 100) / 100, threshold_points: s.maxErrorSharePoints },
      };
    }
  }
  if (s.maxP99IncreaseMs !== null && b.latency_p99_ms !== null && c.latency_p99_ms !== null) {
    const over = c.latency_p99_ms - b.latency_p99_ms;
    if (over > s.maxP99IncreaseMs) {
      return {
        reason: `candidate p99 ${c.latency_p99_ms} ms is ${Math.round(over * 100) / 100} ms above the baseline's ${b.latency_p99_ms} ms (threshold ${s.maxP99IncreaseMs} ms; ${c.requests} and ${b.requests} requests)`,
        details: { ...numbers, trigger: "p99", p99_increase_ms: Math.round(over * 100) / 100, threshold_ms: s.maxP99IncreaseMs },
      };
    }
  }
  return null;
}

export type GuardPass = { aborted: { splitId: string; reason: string }[] };

export async function guardSplits(db: Db, opts: { retentionDays: number; now?: Date }): Promise<GuardPass> {
  const baseline = alias(deployments, "baseline");
  const candidate = alias(deployments, "candidate");
  const active = await db
    .select({ s: deploymentSplits, baseline: { status: baseline.status, message: baseline.message }, candidate: { status: candidate.status, message: candidate.message } })
    .from(deploymentSplits)
    .innerJoin(baseline, eq(baseline.id, deploymentSplits.baselineId))
    .innerJoin(candidate, eq(candidate.id, deploymentSplits.candidateId))
    .where(eq(deploymentSplits.status, "active"));
  const ctx = systemCtx(db, "split-guard");
  const live = (status: string) => (LIVE_DEPLOYMENT_STATUSES as readonly string[]).includes(status);
  const aborted: GuardPass["aborted"] = [];
  for (const { s, baseline: b, candidate: c } of active) {
    let end: { kind: string; reason: string; details?: Record<string, unknown> } | null = null;
    if (!live(c.status)) end = { kind: "ended", reason: `the candidate deployment ${s.candidateId} is ${c.status}${c.message ? ` (${c.message})` : ""}` };
    else if (!live(b.status)) end = { kind: "ended", reason: `the baseline deployment ${s.baselineId} is ${b.status}${b.message ? ` (${b.message})` : ""}` };
    else if (s.maxErrorSharePoints !== null || s.maxP99IncreaseMs !== null) {
      const hit = regression(s, await variantFigures(db, s));
      if (hit) end = { kind: "auto_aborted", ...hit };
    }
    if (!end) continue;
    const done = await db.transaction((tx) => endSplit(tx, ctx, s.id, { outcome: "aborted", ...end, by: GUARD }));
    if (done) aborted.push({ splitId: s.id, reason: end.reason });
  }
  const cutoff = new Date((opts.now ?? new Date()).getTime() - opts.retentionDays * 86_400_000);
  await db.delete(splitRequestLog).where(lt(splitRequestLog.at, cutoff));
  await db.delete(splitFeedback).where(lt(splitFeedback.at, cutoff));
  return { aborted };
}
