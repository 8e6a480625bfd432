// MLflow-shaped DTOs (the protobuf JSON mapping: ids as strings, doubles NaN/±Infinity as strings).
import type { LifecycleStage, RunStatus } from "@/db/schema";

export type KeyValue = { key: string; value: string };
export type MetricValue = number | "NaN" | "Infinity" | "-Infinity";
export type MetricDto = { key: string; value: MetricValue; timestamp: number; step: number };

export type ExperimentDto = {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time: number;
  last_update_time: number;
  tags: KeyValue[];
  /** Cairn extensions (ignored by MLflow clients). */
  team: string;
  description?: string;
  run_count?: number;
  last_activity_at?: number | null;
};

export type RunInfoDto = {
  run_id: string;
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
};

export type DatasetInputDto = {
  tags: KeyValue[];
  dataset: { name: string; digest: string; source_type: string; source: string; schema?: string; profile?: string };
};

export type RunDto = {
  info: RunInfoDto;
  data: { metrics: MetricDto[]; params: KeyValue[]; tags: KeyValue[] };
  inputs: { dataset_inputs: DatasetInputDto[]; model_inputs: { model_id: string }[] };
  outputs: { model_outputs: { model_id: string; step: number }[] };
};

export function metricValue(v: number): MetricValue {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  return v;
}

export function metricDto(m: { key: string; value: number; timestamp: number; step: number }): MetricDto {
  return { key: m.key, value: metricValue(m.value), timestamp: m.timestamp, step: m.step };
}

export function experimentArtifactLocation(experimentId: number): string {
  return `mlflow-artifacts:/${experimentId}`;
}

export function runArtifactUri(experimentId: number, runId: string): string {
  return `mlflow-artifacts:/${experimentId}/${runId}/artifacts`;
}
