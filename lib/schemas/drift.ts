// Drift monitoring (GET /api/v1/deployments/{id}/drift, PUT …/sampling, the Monitoring section): the training
// reference profile a run logs (reference/profile.json, format below), the live distributions the drift worker
// stores, and the DTOs the service answers. The README's "Drift monitoring" section documents the profile.
import { z } from "zod";

/** The prediction's figures are stored under this name beside the features'. */
export const PREDICTION_FEATURE = "__prediction__";
/** Where a run logs its reference profile (relative to the run's artifacts; also looked up inside the model directory). */
export const REFERENCE_PROFILE_PATH = "reference/profile.json";
export const REFERENCE_FORMAT = "cairn.reference_profile/v1";

const name = z.string().min(1).max(200);
const count = z.number().finite().min(0);

const numericSpec = z.strictObject({
  name,
  kind: z.literal("numeric"),
  /** k+1 increasing edges of k bins; a value below the first falls in the first bin, above the last in the last. */
  bin_edges: z.array(z.number().finite()).min(2).max(201),
  counts: z.array(count).min(1).max(200),
  missing: count.optional(),
  /** The values the model accepts ([min, max]); a live value outside counts as invalid. */
  range: z.tuple([z.number().finite(), z.number().finite()]).optional(),
});
const categoricalSpec = z.strictObject({
  name,
  kind: z.literal("categorical"),
  /** Category → count. Live categories the reference never saw are counted under "(other)". */
  counts: z.custom<unknown>((c) => !(c !== null && typeof c === "object" && Object.hasOwn(c, "__proto__")), "a category may not be named __proto__ (rename it, e.g. \"proto\")").pipe(z.record(z.string().max(200), count)).refine((c) => Object.keys(c).length >= 1 && Object.keys(c).length <= 500, "1 to 500 categories"),
  missing: count.optional(),
});
export const featureProfileSchema = z.discriminatedUnion("kind", [numericSpec, categoricalSpec]).superRefine((f, c) => {
  if (f.kind !== "numeric") return;
  if (f.counts.length !== f.bin_edges.length - 1) c.addIssue({ code: "custom", message: `${f.name}: counts has ${f.counts.length} bins, bin_edges needs ${f.counts.length + 1} edges` });
  if (f.bin_edges.some((e, i) => i > 0 && e <= f.bin_edges[i - 1]!)) c.addIssue({ code: "custom", message: `${f.name}: bin_edges must increase` });
});
export type FeatureProfile = z.infer<typeof featureProfileSchema>;

export const referenceProfileSchema = z.strictObject({
  format: z.literal(REFERENCE_FORMAT),
  rows: z.number().int().min(1).optional(),
  /** In the column order of the model's input (a row tensor's columns, or a table's columns). */
  features: z.array(featureProfileSchema).min(1).max(500),
  prediction: featureProfileSchema.optional(),
});
export type ReferenceProfile = z.infer<typeof referenceProfileSchema>;

export type LiveDistribution = { kind: "numeric"; counts: number[] } | { kind: "categorical"; counts: Record<string, number> };

export const samplingSchema = z.strictObject({
  sample_rate: z.number({ error: "sample_rate must be a number from 0 to 1, e.g. 0.1 for 10 % of requests" }).finite().min(0, "sample_rate is 0 (off) or more").max(1, "sample_rate is at most 1 (every request)"),
});
export const samplingAction = samplingSchema.extend({ id: z.string().uuid() });

export const driftQuery = z.strictObject({
  hours: z.coerce.number({ error: "hours must be a number of hours from 1 to 720" }).int("hours is a whole number").min(1, "hours is at least 1").max(720, "hours is at most 720 (30 days)").optional().default(24),
});

export type DriftPoint = { window_start: string; samples: number; psi: number | null; chi_square_p: number | null; missing_share: number; invalid_share: number };

export type DriftFeatureDto = {
  name: string;
  kind: "numeric" | "categorical";
  /** The newest window's figures (null: no window computed yet). */
  latest: DriftPoint | null;
  series: DriftPoint[];
  /** Reference beside live (the newest window), as shares per bin or category, labelled. */
  distribution: { label: string; reference: number; live: number | null }[];
};

export type DriftDto = {
  deployment_id: string;
  sample_rate: number;
  window_seconds: number;
  reference: {
    /** profile: reference/profile.json of the run; input_example: only the model's logged input example (a weak reference); null: none. */
    source: "profile" | "input_example" | null;
    rows: number | null;
    note: string;
  };
  samples: { stored: number; last_at: string | null };
  features: DriftFeatureDto[];
  viewer_can: { manage: boolean };
};
