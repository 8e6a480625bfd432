// Each variant's figures from the split request log: requests, the recent rate, p50/p99 latency, the 5xx
// share, and online quality from the labels fed back (./split-quality.ts). Read by the split's page and API
// and by the guard that aborts a split automatically.
import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { SplitVariant, deploymentSplits } from "@/db/schema";
import { splitFeedback, splitRequestLog } from "@/db/schema";
import type { VariantFigures } from "@/lib/schemas/splits";
import type { Labelled } from "./split-quality";
import { quality } from "./split-quality";

/** The rate is over this much of the split's most recent time. */
const RATE_WINDOW_S = 300;
/** At most this many labelled requests per variant count toward quality (the newest). */
const MAX_LABELLED = 50_000;

const round = (n: number | null, places = 2) => (n === null ? null : Math.round(n * 10 ** places) / 10 ** places);

export async function variantFigures(db: DbOrTx, s: Pick<typeof deploymentSplits.$inferSelect, "id" | "startedAt" | "endedAt">): Promise<Record<SplitVariant, VariantFigures>> {
  const end = s.endedAt ?? new Date();
  const since = new Date(Math.max(s.startedAt.getTime(), end.getTime() - RATE_WINDOW_S * 1000));
  const seconds = Math.max(1, (end.getTime() - since.getTime()) / 1000);
  const [counts, labelled] = await Promise.all([
    db.select({
      variant: splitRequestLog.variant,
      requests: sql<number>`count(*)::int`,
      recent: sql<number>`(count(*) filter (where ${splitRequestLog.at} >= ${since.toISOString()}::timestamptz))::int`,
      errors: sql<number>`(count(*) filter (where ${splitRequestLog.status} >= 500))::int`,
      p50: sql<number | null>`percentile_cont(0.5) within group (order by ${splitRequestLog.latencyMs})`,
      p99: sql<number | null>`percentile_cont(0.99) within group (order by ${splitRequestLog.latencyMs})`,
    }).from(splitRequestLog).where(eq(splitRequestLog.splitId, s.id)).groupBy(splitRequestLog.variant),
    db.select({ requestId: splitRequestLog.requestId, variant: splitRequestLog.variant, prediction: splitRequestLog.prediction, kind: splitRequestLog.predictionKind, label: splitFeedback.label })
      .from(splitRequestLog)
      .innerJoin(splitFeedback, and(eq(splitFeedback.splitId, splitRequestLog.splitId), eq(splitFeedback.requestId, splitRequestLog.requestId)))
      .where(and(eq(splitRequestLog.splitId, s.id), sql`${splitRequestLog.prediction} is not null`))
      .orderBy(sql`${splitRequestLog.id} desc`)
      .limit(2 * MAX_LABELLED),
  ]);
  // A request id counts once: clients may send their own X-Request-Id, and N requests under one id must not
  // weigh one label N times (the newest answer under the id is the one its label judges).
  const seenIds = new Set<string>();
  const once = labelled.filter((l) => (seenIds.has(l.requestId) ? false : (seenIds.add(l.requestId), true)));
  const figures = (v: SplitVariant): VariantFigures => {
    const c = counts.find((r) => r.variant === v);
    const pairs: Labelled[] = once.filter((l) => l.variant === v && l.kind !== null).slice(0, MAX_LABELLED).map((l) => ({ prediction: l.prediction!, kind: l.kind!, label: l.label }));
    const q = quality(pairs);
    const n = Number(c?.requests ?? 0);
    return {
      requests: n,
      requests_per_second: round(Number(c?.recent ?? 0) / seconds, 3)!,
      latency_p50_ms: c?.p50 === null || c?.p50 === undefined ? null : round(Number(c.p50)),
      latency_p99_ms: c?.p99 === null || c?.p99 === undefined ? null : round(Number(c.p99)),
      error_share: n === 0 ? null : round(Number(c!.errors) / n, 4),
      labelled: q.labelled, accuracy: round(q.accuracy, 4), auc: round(q.auc, 4),
    };
  };
  return { baseline: figures("baseline"), candidate: figures("candidate") };
}
