// Builds MLflow run DTOs for a page of runs with one query per related table.
import { asc, eq, inArray } from "drizzle-orm";
import type { runs } from "@/db/schema";
import { datasets, latestMetrics, params, runInputs, runOutputs, runTags } from "@/db/schema";
import type { DbOrTx } from "@/db/client";
import type { RunDto } from "./dto";
import { metricDto } from "./dto";

type RunRow = typeof runs.$inferSelect;

function groupBy<T extends { runId: string }>(rows: T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const r of rows) {
    const list = map.get(r.runId);
    if (list) list.push(r);
    else map.set(r.runId, [r]);
  }
  return map;
}

export async function hydrateRuns(db: DbOrTx, rows: RunRow[]): Promise<RunDto[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [ps, ms, ts, ins, outs] = await Promise.all([
    db.select().from(params).where(inArray(params.runId, ids)).orderBy(asc(params.key)),
    db.select().from(latestMetrics).where(inArray(latestMetrics.runId, ids)).orderBy(asc(latestMetrics.key)),
    db.select().from(runTags).where(inArray(runTags.runId, ids)).orderBy(asc(runTags.key)),
    db
      .select({ runId: runInputs.runId, tags: runInputs.tags, name: datasets.name, digest: datasets.digest, sourceType: datasets.sourceType, source: datasets.source, schema: datasets.schema, profile: datasets.profile })
      .from(runInputs)
      .innerJoin(datasets, eq(datasets.id, runInputs.datasetId))
      .where(inArray(runInputs.runId, ids)),
    db.select().from(runOutputs).where(inArray(runOutputs.runId, ids)),
  ]);
  const [p, m, t, i, o] = [groupBy(ps), groupBy(ms), groupBy(ts), groupBy(ins), groupBy(outs)];
  return rows.map((r) => ({
    info: {
      run_id: r.id,
      run_uuid: r.id,
      run_name: r.name,
      experiment_id: String(r.experimentId),
      user_id: r.userId,
      status: r.status,
      start_time: r.startTime,
      ...(r.endTime !== null ? { end_time: r.endTime } : {}),
      artifact_uri: r.artifactUri,
      lifecycle_stage: r.lifecycleStage,
    },
    data: {
      metrics: (m.get(r.id) ?? []).map(metricDto),
      params: (p.get(r.id) ?? []).map((x) => ({ key: x.key, value: x.value })),
      tags: (t.get(r.id) ?? []).map((x) => ({ key: x.key, value: x.value })),
    },
    inputs: {
      dataset_inputs: (i.get(r.id) ?? []).map((x) => ({
        tags: x.tags,
        dataset: { name: x.name, digest: x.digest, source_type: x.sourceType, source: x.source, ...(x.schema ? { schema: x.schema } : {}), ...(x.profile ? { profile: x.profile } : {}) },
      })),
      model_inputs: [],
    },
    outputs: { model_outputs: (o.get(r.id) ?? []).map((x) => ({ model_id: x.modelId, step: x.step })) },
  }));
}
