// The drift worker's pass: for each deployment with samples in the current or the previous window, the
// figures per feature of its reference and for the prediction — PSI over the reference's bins (numbers) or
// categories, the chi-square test's p-value (categories), the share missing and the share invalid (not of the
// feature's type, or outside the profile's `range`) — upserted per window, so the current window's figures
// grow with it and each window stays chartable afterwards. It also prunes the inference log past its retention.
import { and, desc, eq, gte, lt, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { driftWindows, inferenceSamples } from "@/db/schema";
import type { FeatureProfile, LiveDistribution } from "@/lib/schemas/drift";
import { PREDICTION_FEATURE } from "@/lib/schemas/drift";
import { deploymentReference, normalizedColumn } from "./reference";
import { chiSquareTest, histogram, psi } from "./statistics";
import { log } from "../observability/log";

/** The newest samples of one window that count (a window with more is judged on these). */
const MAX_SAMPLES_PER_WINDOW = 50_000;
/** Live categories the reference never saw are counted under this one. */
export const OTHER_CATEGORY = "(other)";
/** Drift figures are kept this long. */
const WINDOW_RETENTION_DAYS = 90;

export type FeatureFigures = {
  kind: "numeric" | "categorical";
  samples: number;
  psi: number | null;
  chiSquareP: number | null;
  missingShare: number;
  invalidShare: number;
  live: LiveDistribution;
};

const isMissing = (v: unknown) => v === null || v === undefined || (typeof v === "string" && v.trim() === "");

/** A figure as stored: a finite number, else null (NaN never reaches the database). */
const finite = (x: number | null | undefined): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

/** One feature's figures for the live values of a window against its reference profile. */
export function featureFigures(spec: FeatureProfile, values: readonly unknown[]): FeatureFigures {
  const n = values.length;
  let missing = 0;
  let invalid = 0;
  if (spec.kind === "numeric") {
    const valid: number[] = [];
    for (const v of values) {
      if (isMissing(v)) {
        missing++;
        continue;
      }
      const x = typeof v === "boolean" ? (v ? 1 : 0) : v;
      if (typeof x !== "number" || !Number.isFinite(x)) {
        invalid++;
        continue;
      }
      if (spec.range && (x < spec.range[0] || x > spec.range[1])) invalid++;
      valid.push(x);
    }
    const counts = histogram(spec.bin_edges, valid);
    return { kind: "numeric", samples: n, psi: valid.length > 0 ? finite(psi(spec.counts, counts)) : null, chiSquareP: null, missingShare: n ? missing / n : 0, invalidShare: n ? invalid / n : 0, live: { kind: "numeric", counts } };
  }
  // Maps, not objects: a category named like an inherited property (`constructor`, `toString`, `__proto__`) is a plain string.
  const reference = new Map<string, number>(Object.entries(spec.counts));
  const counts = new Map<string, number>([...reference.keys()].map((k) => [k, 0]));
  let seen = 0;
  for (const v of values) {
    if (isMissing(v)) {
      missing++;
      continue;
    }
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      invalid++;
      continue;
    }
    const key = reference.has(String(v)) ? String(v) : OTHER_CATEGORY;
    if (key === OTHER_CATEGORY) invalid++;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    seen++;
  }
  const categories = [...counts.keys()];
  const expected = categories.map((c) => reference.get(c) ?? 0);
  const observed = categories.map((c) => counts.get(c)!);
  const test = seen > 0 ? chiSquareTest(expected, observed) : null;
  const live: Record<string, number> = {};
  for (const [k, c] of counts) Object.defineProperty(live, k, { value: c, enumerable: true, writable: true, configurable: true });
  return { kind: "categorical", samples: n, psi: seen > 0 ? finite(psi(expected, observed)) : null, chiSquareP: finite(test?.p), missingShare: n ? missing / n : 0, invalidShare: n ? invalid / n : 0, live: { kind: "categorical", counts: live } };
}

export const windowStartOf = (t: number, windowMs: number) => Math.floor(t / windowMs) * windowMs;

export type DriftPass = { deployments: number; windows: number; pruned: number };

/** Computes the current and the previous window of every deployment with samples in them. */
export async function computeDrift(db: Db, opts: { windowMinutes: number; retentionDays: number; now?: Date }): Promise<DriftPass> {
  const now = (opts.now ?? new Date()).getTime();
  const windowMs = opts.windowMinutes * 60_000;
  const current = windowStartOf(now, windowMs);
  const from = current - windowMs;
  const active = await db.selectDistinct({ id: inferenceSamples.deploymentId }).from(inferenceSamples).where(gte(inferenceSamples.at, new Date(from)));
  let windows = 0;
  for (const { id } of active) {
    try {
      const reference = await deploymentReference(db, id, { fresh: true });
      if (!reference?.profile) continue;
      const profile = reference.profile;
      const sensitive = new Set(reference.sensitive.map(normalizedColumn));
      for (const start of [from, current]) {
        // A window computed after it ended is final: samples arrive only in the current one.
        if (start === from) {
          const [done] = await db.select({ id: driftWindows.id }).from(driftWindows)
            .where(and(eq(driftWindows.deploymentId, id), eq(driftWindows.windowStart, new Date(start)), gte(driftWindows.computedAt, new Date(start + windowMs)))).limit(1);
          if (done) continue;
        }
        const samples = await db
          .select({ features: inferenceSamples.features, prediction: inferenceSamples.prediction })
          .from(inferenceSamples)
          .where(and(eq(inferenceSamples.deploymentId, id), gte(inferenceSamples.at, new Date(start)), lt(inferenceSamples.at, new Date(start + windowMs))))
          .orderBy(desc(inferenceSamples.id))
          .limit(MAX_SAMPLES_PER_WINDOW);
        if (samples.length === 0) continue;
        const rows: (typeof driftWindows.$inferInsert)[] = [];
        const push = (feature: string, f: FeatureFigures) =>
          rows.push({ deploymentId: id, windowStart: new Date(start), windowEnd: new Date(start + windowMs), feature, kind: f.kind, samples: f.samples, psi: f.psi, chiSquareP: f.chiSquareP, missingShare: f.missingShare, invalidShare: f.invalidShare, live: f.live, computedAt: new Date(now) });
        for (const spec of profile.features) {
          // A sensitive column is never stored, so it has no live distribution to judge.
          if (sensitive.has(normalizedColumn(spec.name))) continue;
          push(spec.name, featureFigures(spec, samples.map((s) => (Object.hasOwn(s.features, spec.name) ? s.features[spec.name] : undefined))));
        }
        if (profile.prediction) push(PREDICTION_FEATURE, featureFigures(profile.prediction, samples.map((s) => s.prediction)));
        if (rows.length === 0) continue;
        await db.insert(driftWindows).values(rows).onConflictDoUpdate({
          target: [driftWindows.deploymentId, driftWindows.windowStart, driftWindows.feature],
          set: {
            kind: sql`excluded.kind`, samples: sql`excluded.samples`, psi: sql`excluded.psi`, chiSquareP: sql`excluded.chi_square_p`, missingShare: sql`excluded.missing_share`,
            invalidShare: sql`excluded.invalid_share`, live: sql`excluded.live`, computedAt: sql`excluded.computed_at`, windowEnd: sql`excluded.window_end`,
          },
        });
        windows++;
      }
    } catch (err) {
      // One deployment's failure (a profile that does not fit its samples) must not stop the others.
      log.error(`computing drift of deployment ${id} failed`, { err });
    }
  }
  const cutoff = new Date(now - opts.retentionDays * 86_400_000);
  const pruned = await db.delete(inferenceSamples).where(lt(inferenceSamples.at, cutoff)).returning({ id: inferenceSamples.id });
  await db.delete(driftWindows).where(lt(driftWindows.windowStart, new Date(now - WINDOW_RETENTION_DAYS * 86_400_000)));
  return { deployments: active.length, windows, pruned: pruned.length };
}
