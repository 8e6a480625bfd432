// Drift monitoring for members: a deployment's drift per feature over time with the reference beside the live
// distribution (GET /api/v1/deployments/{id}/drift, the Monitoring section), and its sample rate (PUT
// …/sampling), which those who may change the deployment set.
import { and, asc, count, eq, gte, max } from "drizzle-orm";
import { deployments, driftWindows, inferenceSamples } from "@/db/schema";
import type { DriftDto, DriftFeatureDto, DriftPoint, FeatureProfile, LiveDistribution } from "@/lib/schemas/drift";
import { PREDICTION_FEATURE, samplingSchema } from "@/lib/schemas/drift";
import { appendAudit } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { permissionFor } from "../deployments/prepare";
import { loadDeployment } from "../deployments/service";
import { env } from "../env";
import { invalidInput } from "../http/errors";
import { OTHER_CATEGORY } from "./compute";
import { deploymentReference, forgetReference, normalizedColumn } from "./reference";

const share = (counts: number[], i: number) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return total > 0 ? (counts[i] ?? 0) / total : 0;
};
const round = (n: number) => Math.round(n * 10_000) / 10_000;
const edge = (n: number) => String(Math.round(n * 1000) / 1000);

/** The reference's shares beside the live window's, per bin (labelled "[a, b)") or category. */
export function distribution(spec: FeatureProfile, live: LiveDistribution | null): DriftFeatureDto["distribution"] {
  if (spec.kind === "numeric") {
    const liveCounts = live?.kind === "numeric" && live.counts.length === spec.counts.length ? live.counts : null;
    const last = spec.counts.length - 1;
    // The end bins also hold the values beyond the reference's edges.
    const label = (i: number) => (last === 0 ? "all" : i === 0 ? `< ${edge(spec.bin_edges[1]!)}` : i === last ? `≥ ${edge(spec.bin_edges[i]!)}` : `[${edge(spec.bin_edges[i]!)}, ${edge(spec.bin_edges[i + 1]!)})`);
    return spec.counts.map((_, i) => ({
      label: label(i),
      reference: round(share(spec.counts, i)),
      live: liveCounts ? round(share(liveCounts, i)) : null,
    }));
  }
  const categories = Object.keys(spec.counts);
  const liveCounts = live?.kind === "categorical" ? live.counts : null;
  if (liveCounts && (liveCounts[OTHER_CATEGORY] ?? 0) > 0 && !categories.includes(OTHER_CATEGORY)) categories.push(OTHER_CATEGORY);
  const refTotal = Object.values(spec.counts).reduce((a, b) => a + b, 0);
  const liveTotal = liveCounts ? Object.values(liveCounts).reduce((a, b) => a + b, 0) : 0;
  return categories.map((c) => ({
    label: c,
    reference: round(refTotal > 0 ? (spec.counts[c] ?? 0) / refTotal : 0),
    live: liveCounts ? round(liveTotal > 0 ? (liveCounts[c] ?? 0) / liveTotal : 0) : null,
  }));
}

export async function getDrift(ctx: Ctx, id: string, opts: { hours: number; now?: Date }): Promise<DriftDto> {
  const row = await loadDeployment(ctx, id, { mode: "read" });
  const since = new Date((opts.now ?? new Date()).getTime() - opts.hours * 3_600_000);
  const [reference, [stored], windows] = await Promise.all([
    deploymentReference(ctx.db, row.id),
    ctx.db.select({ n: count(), last: max(inferenceSamples.at) }).from(inferenceSamples).where(eq(inferenceSamples.deploymentId, row.id)),
    ctx.db.select().from(driftWindows).where(and(eq(driftWindows.deploymentId, row.id), gte(driftWindows.windowStart, since))).orderBy(asc(driftWindows.windowStart)),
  ]);
  const profile = reference?.profile ?? null;
  const sensitive = new Set((reference?.sensitive ?? []).map(normalizedColumn));
  const specs: [string, FeatureProfile][] = profile
    ? [...profile.features.filter((f) => !sensitive.has(normalizedColumn(f.name))).map((f) => [f.name, f] as [string, FeatureProfile]), ...(profile.prediction ? [[PREDICTION_FEATURE, profile.prediction] as [string, FeatureProfile]] : [])]
    : [];
  const features: DriftFeatureDto[] = specs.map(([name, spec]) => {
    const mine = windows.filter((w) => w.feature === name);
    const series: DriftPoint[] = mine.map((w) => ({
      window_start: w.windowStart.toISOString(), samples: w.samples, psi: w.psi === null ? null : round(w.psi), chi_square_p: w.chiSquareP,
      missing_share: round(w.missingShare), invalid_share: round(w.invalidShare),
    }));
    const newest = mine[mine.length - 1];
    return { name, kind: spec.kind, latest: series[series.length - 1] ?? null, series, distribution: distribution(spec, newest?.live ?? null) };
  });
  const hidden = profile ? profile.features.filter((f) => sensitive.has(normalizedColumn(f.name))).map((f) => f.name) : [];
  return {
    deployment_id: row.id,
    sample_rate: reference?.sampleRate ?? 0,
    window_seconds: env().drift.windowMinutes * 60,
    reference: {
      source: reference?.source ?? null,
      rows: profile?.rows ?? null,
      note: `${reference?.note ?? "No training reference."}${hidden.length ? ` Marked sensitive, never stored and not monitored: ${hidden.join(", ")}.` : ""}`,
    },
    samples: { stored: Number(stored?.n ?? 0), last_at: stored?.last ? new Date(stored.last).toISOString() : null },
    features,
    viewer_can: { manage: can(ctx.actor, permissionFor(row.environment), row.teamId) },
  };
}

/** Sets the share of requests the gateway samples (0 turns sampling off); audited. */
export async function setSampleRate(ctx: Ctx, id: string, raw: unknown): Promise<{ sample_rate: number }> {
  const parsed = samplingSchema.safeParse(raw);
  if (!parsed.success) throw invalidInput(parsed.error, "body");
  const row = await loadDeployment(ctx, id, { mode: "write", action: "deployment.sampling" });
  const { sample_rate } = parsed.data;
  await ctx.db.transaction(async (tx) => {
    const [before] = await tx.select({ rate: deployments.sampleRate }).from(deployments).where(eq(deployments.id, row.id)).for("update");
    await tx.update(deployments).set({ sampleRate: sample_rate }).where(eq(deployments.id, row.id));
    await appendAudit(tx, ctx, { action: "deployment.sampling", target: `deployment:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, details: { from: before?.rate ?? null, to: sample_rate } });
  });
  forgetReference(row.id);
  return { sample_rate };
}
