// Demo registry: a few models registered from the demo experiments' best runs (their model/ folders
// hold an MLmodel and a real model.onnx), with several versions, aliases and their history, and stage
// labels. Written with the same pinning and inspection the registry uses, in one transaction per model.
import { randomUUID } from "node:crypto";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../client";
import { experiments, latestMetrics, modelAliasEvents, modelAliases, modelVersions, registeredModels, runTags, runs, teams, users } from "../schema";
import type { ModelVersionStage } from "../schema";
import type { ArtifactStore } from "@/server/artifacts/store";
import { appendAudit } from "@/server/audit/record";
import { systemCtx } from "@/server/context";
import { inspectModel } from "@/server/registry/inspect";
import { pinRoot, pinVersionFiles, pinnedStore } from "@/server/registry/pins";
import { runArtifactUri } from "@/server/tracking/dto";

type VersionSpec = { experiment: string; rank: number; stage?: ModelVersionStage; description: string };
type ModelSpec = { team: string; name: string; description: string; score: string; versions: VersionSpec[]; aliases: Record<string, number> };

const MODELS: ModelSpec[] = [
  {
    team: "churn",
    name: "churn-classifier",
    description: "Predicts the probability that a customer cancels within 90 days.\n\n- Input: the encoded feature vector of `examples/churn` (11 columns)\n- Output: `probabilities` = [stays, churns]\n- Owner: churn team; production moves only through an approved deployment.",
    score: "auc",
    versions: [
      { experiment: "churn-baseline", rank: 0, stage: "Archived", description: "First logistic-regression baseline." },
      { experiment: "churn-gbm-sweep", rank: 1, description: "Gradient boosting, second best of the sweep." },
      { experiment: "churn-gbm-sweep", rank: 0, stage: "Production", description: "Best gradient-boosting run of the sweep; serving in production." },
      { experiment: "churn-features-v2", rank: 0, stage: "Staging", description: "Trained on the v2 feature set; candidate for production." },
    ],
    aliases: { production: 3, champion: 4 },
  },
  {
    team: "fraud",
    name: "fraud-detector",
    description: "Scores card transactions for fraud (higher is riskier).",
    score: "auc",
    versions: [
      { experiment: "fraud-xgb", rank: 1, stage: "Production", description: "XGBoost, conservative depth." },
      { experiment: "fraud-xgb", rank: 0, description: "XGBoost, best of the sweep." },
    ],
    aliases: { production: 1, champion: 2 },
  },
  {
    team: "vision",
    name: "defect-classifier",
    description: "Classifies surface defects (ok, scratch, dent, crack, stain).",
    score: "val_accuracy",
    versions: [{ experiment: "resnet-finetune", rank: 0, description: "Fine-tuned ResNet, best validation accuracy." }],
    aliases: { candidate: 1 },
  },
];

type Candidate = { runId: string; experimentId: number; userId: string; createdBy: string | null; endTime: number };

/** The experiment's demo candidate runs (they carry model/ artifacts), best score first. */
async function candidates(db: Db, teamId: string, experiment: string, score: string): Promise<Candidate[]> {
  const rows = await db
    .select({ runId: runs.id, experimentId: runs.experimentId, userId: runs.userId, createdBy: runs.createdBy, endTime: runs.endTime, startTime: runs.startTime, score: latestMetrics.value })
    .from(runs)
    .innerJoin(experiments, eq(experiments.id, runs.experimentId))
    .innerJoin(runTags, and(eq(runTags.runId, runs.id), eq(runTags.key, "candidate")))
    .innerJoin(latestMetrics, and(eq(latestMetrics.runId, runs.id), eq(latestMetrics.key, score)))
    .where(and(eq(experiments.teamId, teamId), eq(experiments.name, experiment)))
    .orderBy(desc(latestMetrics.value));
  return rows.map((r) => ({ runId: r.runId, experimentId: r.experimentId, userId: r.userId, createdBy: r.createdBy, endTime: r.endTime ?? r.startTime }));
}

export async function seedDemoRegistry(db: Db, store: ArtifactStore): Promise<{ models: number; versions: number }> {
  const [{ n } = { n: 0 }] = await db.select({ n: sql<number>`count(*)::int` }).from(registeredModels);
  if (n > 0) return { models: 0, versions: 0 };
  const teamRows = await db.select({ id: teams.id, slug: teams.slug }).from(teams).where(inArray(teams.slug, MODELS.map((m) => m.team)));
  const [admin] = await db.select({ id: users.id }).from(users).where(eq(users.isAdmin, true)).limit(1);
  const ctx = systemCtx(db, "seed");
  let modelCount = 0;
  let versionCount = 0;
  for (const spec of MODELS) {
    const team = teamRows.find((t) => t.slug === spec.team);
    if (!team) continue;
    const picked: (Candidate & VersionSpec)[] = [];
    for (const v of spec.versions) {
      const c = (await candidates(db, team.id, v.experiment, spec.score))[v.rank];
      if (c) picked.push({ ...c, ...v });
    }
    if (picked.length !== spec.versions.length) continue; // the demo experiments are not there
    // Pinned like any registration: the versions keep a copy of their files and a digest over them.
    const ids = picked.map(() => randomUUID());
    const pins = await Promise.all(picked.map((p, i) => pinVersionFiles({ store, root: [spec.team, String(p.experimentId), p.runId], rel: "model" }, ids[i]!)));
    const inspections = await Promise.all(ids.map((id, i) => inspectModel(pinnedStore(), pinRoot(id), pins[i]!.rel)));
    // Versions are registered a little after their run ended, in order.
    const times = picked.map((p, i) => Math.max(p.endTime + 3_600_000, i === 0 ? 0 : picked[i - 1]!.endTime + 3_600_000) + i * 60_000);
    for (let i = 1; i < times.length; i++) times[i] = Math.max(times[i]!, times[i - 1]! + 60_000);
    await db.transaction(async (tx) => {
      const [model] = await tx
        .insert(registeredModels)
        .values({ teamId: team.id, name: spec.name, description: spec.description, lastVersion: picked.length, createdBy: admin?.id ?? null, creationTime: times[0]!, lastUpdatedTime: times.at(-1)! })
        .returning({ id: registeredModels.id });
      await tx.insert(modelVersions).values(picked.map((p, i) => ({
        id: ids[i]!, contentDigest: pins[i]!.digest, contentManifest: pins[i]!.manifest, modelId: model!.id, version: i + 1, source: `runs:/${p.runId}/model`, storageLocation: `${runArtifactUri(p.experimentId, p.runId)}/model`, runId: p.runId,
        stage: p.stage ?? "None", description: p.description, inspection: inspections[i]!, userId: p.userId, createdBy: p.createdBy,
        creationTime: times[i]!, lastUpdatedTime: times[i]!,
      })));
      const aliases = Object.entries(spec.aliases);
      if (aliases.length) {
        await tx.insert(modelAliases).values(aliases.map(([alias, version]) => ({ modelId: model!.id, alias, version, updatedBy: "seed", updatedTime: times[version - 1]! })));
        await tx.insert(modelAliasEvents).values(aliases.map(([alias, version]) => ({ modelId: model!.id, alias, fromVersion: null, toVersion: version, actor: "seed", via: "seed", time: times[version - 1]! })));
      }
      await appendAudit(tx, ctx, { action: "model.create", target: `model:${spec.team}/${spec.name}`, teamId: team.id, team: spec.team, details: { versions: picked.length, seeded: true } });
    });
    modelCount++;
    versionCount += picked.length;
  }
  return { models: modelCount, versions: versionCount };
}
