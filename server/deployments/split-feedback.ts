// POST /api/v1/deployments/{id}/feedback: the true label of requests a split served, by the request id the
// gateway answered with (X-Request-Id). Stored against the deployment's split (the active one, else its
// latest, so labels that arrive after a promotion still count); a repeated request id replaces its label.
// Labels may arrive before the gateway's batched log holds the request: they are kept and join once it does.
import { and, eq, inArray, sql } from "drizzle-orm";
import { splitFeedback, splitRequestLog } from "@/db/schema";
import type { FeedbackInput } from "@/lib/schemas/splits";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadDeployment } from "./service";
import { splitOf } from "./split";

export type FeedbackAnswer = { split_id: string; stored: number; matched: number };

export async function recordFeedback(ctx: Ctx, id: string, input: FeedbackInput): Promise<FeedbackAnswer> {
  // Whoever may call the deployment may label what it answered (read_data, as the gateway asks of a token).
  const row = await loadDeployment(ctx, id, { mode: "read" });
  const split = await splitOf(ctx.db, row.id);
  if (!split) throw new AppError("conflict", `Deployment ${id} has never had a traffic split, so there is nothing to label; start one (POST /api/v1/deployments/${id}/split) and send labels for the request ids its answers carry.`);
  const items = "feedback" in input ? input.feedback : [input];
  // The last label given for a request id wins.
  const byRequest = new Map(items.map((f) => [f.request_id, f.label]));
  const values = [...byRequest].map(([requestId, label]) => ({ splitId: split.id, requestId, label, at: new Date() }));
  await ctx.db.insert(splitFeedback).values(values).onConflictDoUpdate({ target: [splitFeedback.splitId, splitFeedback.requestId], set: { label: sql`excluded.label`, at: sql`excluded.at` } });
  const [{ matched }] = (await ctx.db.select({ matched: sql<number>`count(distinct ${splitRequestLog.requestId})::int` }).from(splitRequestLog)
    .where(and(eq(splitRequestLog.splitId, split.id), inArray(splitRequestLog.requestId, [...byRequest.keys()])))) as [{ matched: number }];
  return { split_id: split.id, stored: values.length, matched };
}
