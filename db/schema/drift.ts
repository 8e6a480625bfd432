// Drift monitoring (issue 17): the inference log the gateway samples requests and predictions into (written in
// batches off the request path; pruned after a retention), and the drift worker's figures per deployment,
// window and feature (the prediction is the feature named by PREDICTION_FEATURE).
import { bigserial, doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import type { LiveDistribution } from "@/lib/schemas/drift";
import { deployments } from "./deployments";

export const inferenceSamples = pgTable(
  "inference_samples",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deploymentId: uuid("deployment_id").notNull().references(() => deployments.id, { onDelete: "cascade" }),
    requestId: text("request_id").notNull(),
    /** One input row: column → value (columns marked sensitive are never in it). */
    features: jsonb("features").$type<Record<string, unknown>>().notNull(),
    /** The answer's prediction for that row (a score or a class), null when it held none. */
    prediction: doublePrecision("prediction"),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("inference_samples_deployment_at_idx").on(t.deploymentId, t.at), index("inference_samples_at_idx").on(t.at)],
);

export const driftWindows = pgTable(
  "drift_windows",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deploymentId: uuid("deployment_id").notNull().references(() => deployments.id, { onDelete: "cascade" }),
    windowStart: timestamp("window_start", { withTimezone: true }).notNull(),
    windowEnd: timestamp("window_end", { withTimezone: true }).notNull(),
    feature: text("feature").notNull(),
    kind: text("kind").$type<"numeric" | "categorical">().notNull(),
    samples: integer("samples").notNull(),
    /** Population stability index against the reference (null: no valid values in the window). */
    psi: doublePrecision("psi"),
    /** Chi-square test's p-value of the live categories against the reference's shares (categorical only). */
    chiSquareP: doublePrecision("chi_square_p"),
    missingShare: doublePrecision("missing_share").notNull(),
    /** Values of the wrong type, or outside the signature's or reference's range. */
    invalidShare: doublePrecision("invalid_share").notNull(),
    /** The live distribution in the reference's bins (numeric) or categories. */
    live: jsonb("live").$type<LiveDistribution>().notNull(),
    computedAt: timestamp("computed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("drift_windows_window_feature_idx").on(t.deploymentId, t.windowStart, t.feature), index("drift_windows_computed_at_idx").on(t.computedAt)],
);
