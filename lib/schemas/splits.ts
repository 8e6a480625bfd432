// Traffic splits (canary and A/B) on a deployment's stable address, and feedback on what they served.
import { z } from "zod";

/** The request header whose value a sticky split hashes: the same key always lands on the same variant. */
export const SPLIT_KEY_HEADER = "X-Cairn-Split-Key";

const version = z.union([
  z.number({ error: "version must be a version number such as 3" }).int("version must be a whole version number").positive("version must be a version number such as 3"),
  z.string().regex(/^\d{1,9}$/, "version must be a version number such as 3").transform(Number),
]);

export const splitAbortSchema = z.strictObject({
  /** Abort when the candidate's error share exceeds the baseline's by more than this many percentage points. */
  error_share_points: z.number({ error: "error_share_points must be a number of percentage points" }).min(0, "error_share_points is at least 0").max(100, "error_share_points is at most 100").nullable().optional(),
  /** Abort when the candidate's p99 latency exceeds the baseline's by more than this many milliseconds. */
  p99_ms: z.number({ error: "p99_ms must be a number of milliseconds" }).min(0, "p99_ms is at least 0").max(600_000, "p99_ms is at most 600000").nullable().optional(),
  /** Judge only once each variant served this many requests. */
  min_requests: z.number({ error: "min_requests must be a whole number" }).int("min_requests must be a whole number").min(1, "min_requests is at least 1").max(1_000_000, "min_requests is at most 1000000").optional(),
});

export const startSplitSchema = z.strictObject({
  /** The candidate: a version of the deployment's own model. */
  version,
  /** Optional, to say which model the version is of: it must be the deployment's own. */
  model: z.string().min(1).max(255).optional(),
  weight: z.number({ error: "weight must be a whole percentage from 1 to 99" }).int("weight must be a whole percentage from 1 to 99").min(1, "weight must be a whole percentage from 1 to 99").max(99, "weight must be a whole percentage from 1 to 99"),
  sticky: z.boolean().optional().default(false),
  replicas: z.number().int().min(1, "replicas is at least 1").max(20, "replicas is at most 20").optional().default(1),
  abort: splitAbortSchema.optional(),
  /** Production only: a note for the team lead who decides the request. */
  note: z.string().max(4000, "note is at most 4000 characters").optional(),
});
export type StartSplitInput = z.infer<typeof startSplitSchema>;

/** A true label: a number (a class such as 0 or 1) or a boolean (1/0). */
const label = z.union([z.number({ error: "label must be a number (a class such as 0 or 1) or a boolean" }).finite(), z.boolean().transform((b) => (b ? 1 : 0))]);
const requestId = z.string().min(1, "request_id is the X-Request-Id of the answer").max(128, "request_id is at most 128 characters");
const one = z.strictObject({ request_id: requestId, label });

export const feedbackSchema = z.union([
  one,
  z.strictObject({ feedback: z.array(one).min(1, "feedback holds at least one {request_id, label}").max(1000, "feedback holds at most 1000 labels; send several batches") }),
], { error: "send {request_id, label} or {feedback: [{request_id, label}, …]}" });
export type FeedbackInput = z.infer<typeof feedbackSchema>;

/** The deployment page's split form (the same fields, by deployment id). */
export const startSplitAction = z.strictObject({
  id: z.string().uuid(),
  version: z.number().int().positive(),
  weight: z.number({ error: "weight must be a whole percentage from 1 to 99" }).int("weight must be a whole percentage from 1 to 99").min(1, "weight must be a whole percentage from 1 to 99").max(99, "weight must be a whole percentage from 1 to 99"),
  sticky: z.boolean(),
  error_share_points: z.number().min(0).max(100).nullable(),
  p99_ms: z.number().min(0).max(600_000).nullable(),
  min_requests: z.number().int().min(1).max(1_000_000),
  note: z.string().max(4000).optional(),
});

/** A variant's figures from the split's request log and the labels fed back. */
export type VariantFigures = {
  requests: number;
  /** Over the last 5 minutes of the split (or up to its end). */
  requests_per_second: number;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  /** Share of answers with a 5xx status, 0–1 (null: no requests). */
  error_share: number | null;
  /** Requests with a stored label. */
  labelled: number;
  /** Class predictions: share equal to the label; scores: share on the label's side of 0.5. */
  accuracy: number | null;
  /** Scores with 0/1 labels, both present: the area under the ROC curve (exact, by ranks). */
  auc: number | null;
};

export type SplitVariantDto = {
  variant: "baseline" | "candidate";
  deployment_id: string;
  version: number;
  /** The deployment's status (deploying, ready, …). */
  status: string;
  /** Percent of the stable address's requests routed to it. */
  weight: number;
} & VariantFigures;

export type SplitEventDto = { at: string; kind: string; message: string; details: Record<string, unknown> | null };

export type SplitDto = {
  split_id: string;
  status: "active" | "promoted" | "aborted";
  environment: "staging" | "production";
  model: string;
  stable_endpoint: string;
  weight: number;
  sticky: boolean;
  sticky_header: string;
  abort: { error_share_points: number | null; p99_ms: number | null; min_requests: number };
  baseline: SplitVariantDto;
  candidate: SplitVariantDto;
  approval_id: string | null;
  started_by: string;
  started_at: string;
  ended_at: string | null;
  ended_by: string | null;
  end_reason: string | null;
  events: SplitEventDto[];
  viewer_can: { promote: boolean; abort: boolean };
};
