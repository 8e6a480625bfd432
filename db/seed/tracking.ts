// Demo experiment tracking: six experiments across the demo teams (~450 runs, ~70k metric points) with params,
// per-epoch histories, tags, dataset inputs and artifacts for each experiment's best runs, so the runs table,
// charts and compare views have something realistic to show on a fresh install.
//
// Everything comes from a seeded PRNG (one stream per experiment), so every fresh database gets the same
// runs; only the timestamps move, being relative to the moment of seeding. Final quality is a function of
// the params (plus a little noise), so sorting by a metric ranks the sweep sensibly.
import { Readable } from "node:stream";
import { deflateSync } from "node:zlib";
import { asc, count, eq, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { RunStatus } from "@/db/schema";
import type { ArtifactStore } from "@/server/artifacts/store";
import { crc32 } from "@/server/jobs/archive/crc32";
import { imageClassifierOnnx, linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { experimentArtifactLocation, runArtifactUri } from "@/server/tracking/dto";
import { rebuildExperimentKeys } from "@/server/tracking/keys";
import { rebuildRollups } from "@/server/tracking/rollups";
import type { Db, DbOrTx } from "../client";
import { datasets, experimentTags, experiments, latestMetrics, memberships, metrics, params, runInputs, runTags, runs, teams, users } from "../schema";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CHUNK = 2000;
const ARTIFACT_MAX_BYTES = 16 * 1024 * 1024;
const TOP_RUNS_WITH_ARTIFACTS = 3;

// ---------------------------------------------------------------------------------------------------------------
// Deterministic randomness

type Random = {
  float(lo?: number, hi?: number): number;
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  normal(): number;
  chance(p: number): boolean;
  hex(length: number): string;
};

/** mulberry32: tiny, fast and good enough for demo data; seeded so the output never changes. */
function random(seedText: string): Random {
  // FNV-1a turns the experiment name into the 32-bit seed, so adding an experiment never shifts the others.
  let a = 0x811c9dc5;
  for (let i = 0; i < seedText.length; i++) a = Math.imul(a ^ seedText.charCodeAt(i), 0x01000193) >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const self: Random = {
    float: (lo = 0, hi = 1) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    chance: (p) => next() < p,
    hex: (length) => Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join(""),
  };
  return self;
}

// Same vocabulary style as server/tracking/run-names.ts, whose generator draws from crypto and so cannot be seeded.
const ADJECTIVES = ["amber", "bold", "brave", "calm", "clever", "crisp", "dapper", "eager", "fierce", "gentle", "glad", "keen", "lucky", "merry", "nimble", "polite", "quiet", "rare", "sleek", "swift", "tidy", "vivid", "wise", "zesty"];
const NOUNS = ["badger", "bison", "crane", "deer", "eagle", "falcon", "fox", "gull", "hare", "heron", "ibis", "koala", "lark", "lynx", "mole", "newt", "otter", "owl", "panda", "quail", "robin", "seal", "stork", "wren"];

function runName(r: Random, taken: Set<string>): string {
  for (;;) {
    const name = `${r.pick(ADJECTIVES)}-${r.pick(NOUNS)}-${r.int(0, 999)}`;
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
/** 1 at `best`, falling off smoothly with distance: how much a param setting helps. */
const near = (v: number, best: number, width: number): number => Math.exp(-(((v - best) / width) ** 2));
const num = (p: Params, key: string): number => Number(p[key]);

// ---------------------------------------------------------------------------------------------------------------
// Experiment definitions

type Params = Record<string, string | number>;
type Kind = "logreg" | "gbm" | "fraud-gbm" | "autoencoder" | "vision";

type DatasetSpec = { name: string; source: string; rows: number; columns: number; schema: string };

type Targets = {
  /** Value of the final metric at quality 0 and 1. */
  auc: [number, number];
  valLoss: [number, number];
  /** Binary experiments only; multiclass ones derive both from their confusion matrix. */
  precision: [number, number];
  recall: [number, number];
  /** Loss at the first epoch. */
  lossStart: number;
};

type ExperimentSpec = {
  team: string;
  name: string;
  description: string;
  kind: Kind;
  stage: string;
  sourceName: string;
  /** Run count; a nested experiment has parents × (1 + children) instead. */
  runs: number;
  /** Days ago of the first and the last run start. */
  window: [number, number];
  epochs: [number, number];
  train: DatasetSpec;
  evaluation: DatasetSpec;
  features: { name: string; type: string }[];
  /** Confusion-matrix labels and test-set size per label (binary: negative first). */
  classes: { label: string; count: number }[];
  targets: Targets;
  sample(r: Random): Params;
  /** 0 (poor configuration) to 1 (best); noise is added per run. */
  quality(p: Params): number;
  /** 0..1: how much validation loss climbs again late in training. */
  overfit(p: Params): number;
  secondsPerEpoch(p: Params): number;
  statuses: { failed: number; killed: number; running: boolean };
  failure: string;
  nested?: { parents: number; children: number; featureSets: string[] };
};

const colspec = (cols: { name: string; type: string }[]): string =>
  JSON.stringify({ mlflow_colspec: cols.map((c) => ({ type: c.type, name: c.name, required: true })) });

const CHURN_FEATURES = [
  { name: "tenure_months", type: "long" }, { name: "monthly_charges", type: "double" }, { name: "total_charges", type: "double" },
  { name: "contract", type: "string" }, { name: "payment_method", type: "string" }, { name: "internet_service", type: "string" },
  { name: "tech_support", type: "boolean" }, { name: "senior_citizen", type: "boolean" }, { name: "support_tickets_90d", type: "long" },
  { name: "avg_monthly_usage_gb", type: "double" }, { name: "paperless_billing", type: "boolean" },
];
const FRAUD_FEATURES = [
  { name: "amount", type: "double" }, { name: "hour_of_day", type: "long" }, { name: "merchant_category", type: "string" },
  { name: "card_present", type: "boolean" }, { name: "distance_from_home_km", type: "double" }, { name: "txn_count_1h", type: "long" },
  { name: "txn_count_24h", type: "long" }, { name: "amount_vs_avg_30d", type: "double" }, { name: "device_age_days", type: "long" },
  { name: "country_mismatch", type: "boolean" },
];
const VISION_PROBES = [
  { name: "edge_density", type: "float" }, { name: "texture_contrast", type: "float" }, { name: "specular_highlights", type: "float" },
  { name: "color_variance", type: "float" }, { name: "shape_irregularity", type: "float" }, { name: "local_entropy", type: "float" },
];

const CHURN_COLUMNS = [...CHURN_FEATURES, { name: "churned", type: "boolean" }];
const FRAUD_COLUMNS = [...FRAUD_FEATURES, { name: "is_fraud", type: "boolean" }];
const IMAGE_SCHEMA = JSON.stringify({
  mlflow_tensorspec: {
    features: JSON.stringify([{ type: "tensor", "tensor-spec": { dtype: "uint8", shape: [-1, 224, 224, 3] } }]),
    targets: JSON.stringify([{ type: "tensor", "tensor-spec": { dtype: "int64", shape: [-1] } }]),
  },
});

const CHURN_TRAIN: DatasetSpec = { name: "churn-train", source: "examples/churn/churn.csv", rows: 5634, columns: CHURN_COLUMNS.length, schema: colspec(CHURN_COLUMNS) };
const CHURN_EVAL: DatasetSpec = { name: "churn-eval", source: "examples/churn/churn_holdout.csv", rows: 1409, columns: CHURN_COLUMNS.length, schema: colspec(CHURN_COLUMNS) };
const CHURN_CLASSES = [{ label: "retained", count: 1035 }, { label: "churned", count: 374 }];
const FRAUD_CLASSES = [{ label: "legit", count: 56864 }, { label: "fraud", count: 98 }];

const ALL_FINISHED = { failed: 0, killed: 0, running: false };

const SPECS: ExperimentSpec[] = [
  {
    team: "churn",
    name: "churn-baseline",
    description: "Logistic-regression baseline for 90-day churn on the telco dataset.",
    kind: "logreg",
    stage: "baseline",
    sourceName: "examples/churn/train_logreg.py",
    runs: 120,
    window: [21, 15],
    epochs: [20, 30],
    train: CHURN_TRAIN,
    evaluation: CHURN_EVAL,
    features: CHURN_FEATURES,
    classes: CHURN_CLASSES,
    targets: { auc: [0.79, 0.846], valLoss: [0.48, 0.415], precision: [0.5, 0.66], recall: [0.45, 0.7], lossStart: 0.693 },
    sample: (r) => ({
      learning_rate: r.pick([0.001, 0.003, 0.01, 0.03, 0.1]),
      regularization: r.pick([0.001, 0.01, 0.1, 0.3, 1, 3, 10]),
      penalty: r.pick(["l1", "l2", "elasticnet"]),
      optimizer: r.pick(["sgd", "adam", "lbfgs"]),
      batch_size: r.pick([64, 128, 256, 512]),
      class_weight: r.pick(["None", "balanced"]),
      feature_set: r.pick(["base_v1", "base_v1+tenure_bins"]),
      scaler: r.pick(["standard", "minmax"]),
      seed: r.pick([7, 13, 42, 1234]),
    }),
    quality: (p) =>
      0.35 * near(Math.log10(num(p, "regularization")), -0.5, 1.2) +
      0.2 * near(Math.log10(num(p, "learning_rate")), -2, 0.8) +
      0.15 * (p.class_weight === "balanced" ? 1 : 0) +
      0.15 * (p.feature_set === "base_v1+tenure_bins" ? 1 : 0) +
      0.1 * (p.penalty === "l1" ? 0.4 : 1) +
      0.05 * (p.scaler === "standard" ? 1 : 0.5),
    overfit: (p) => (num(p, "regularization") >= 3 ? 0.3 : 0),
    secondsPerEpoch: (p) => 1.5 + 256 / num(p, "batch_size"),
    statuses: { failed: 1, killed: 0, running: false },
    failure: "ValueError: Input contains NaN (total_charges) after the v1 join",
  },
  {
    team: "churn",
    name: "churn-gbm-sweep",
    description: "Gradient-boosting hyperparameter sweep (random search) on the churn features.",
    kind: "gbm",
    stage: "sweep",
    sourceName: "examples/churn/sweep_gbm.py",
    runs: 150,
    window: [14, 0.3],
    epochs: [20, 60],
    train: CHURN_TRAIN,
    evaluation: CHURN_EVAL,
    features: CHURN_FEATURES,
    classes: CHURN_CLASSES,
    targets: { auc: [0.8, 0.878], valLoss: [0.47, 0.375], precision: [0.52, 0.72], recall: [0.48, 0.74], lossStart: 0.693 },
    sample: (r) => ({
      learning_rate: r.pick([0.01, 0.02, 0.05, 0.1, 0.2, 0.3]),
      max_depth: r.int(3, 10),
      n_estimators: r.pick([100, 200, 400, 800]),
      subsample: r.pick([0.6, 0.7, 0.8, 0.9, 1]),
      colsample_bytree: r.pick([0.5, 0.7, 0.9, 1]),
      min_child_weight: r.pick([1, 3, 5, 10]),
      regularization: r.pick([0, 0.1, 1, 5, 10]),
      feature_set: r.pick(["base_v1", "base_v2"]),
      objective: "binary:logistic",
      early_stopping_rounds: 50,
      seed: 42,
    }),
    quality: gbmQuality,
    overfit: gbmOverfit,
    secondsPerEpoch: (p) => 0.6 + (num(p, "n_estimators") / 100) * (num(p, "max_depth") / 6) * 0.8,
    statuses: { failed: 4, killed: 3, running: true },
    failure: "XGBoostError: out of memory while building histogram (max_depth too deep for worker)",
  },
  {
    team: "churn",
    name: "churn-features-v2",
    description: "Second feature set: each parent run tries one feature group with a small nested search.",
    kind: "gbm",
    stage: "features",
    sourceName: "examples/churn/feature_search.py",
    runs: 40,
    window: [6, 1],
    epochs: [20, 40],
    train: { ...CHURN_TRAIN, name: "churn-train-v2", source: "examples/churn/churn_v2.csv", rows: 5634 },
    evaluation: CHURN_EVAL,
    features: CHURN_FEATURES,
    classes: CHURN_CLASSES,
    targets: { auc: [0.82, 0.886], valLoss: [0.45, 0.37], precision: [0.55, 0.74], recall: [0.5, 0.75], lossStart: 0.693 },
    sample: (r) => ({
      learning_rate: r.pick([0.02, 0.05, 0.1]),
      max_depth: r.int(4, 8),
      n_estimators: r.pick([200, 400, 800]),
      subsample: r.pick([0.7, 0.8, 0.9]),
      colsample_bytree: r.pick([0.7, 0.9]),
      regularization: r.pick([0.1, 1, 5]),
      seed: 42,
    }),
    quality: (p) => {
      const bonus: Record<string, number> = { v2_tenure_bins: 0.05, v2_usage_ratios: 0.12, v2_support_tickets: 0.1, v2_all: 0.2, v2_all_pruned: 0.22 };
      return 0.78 * gbmQuality(p) + (bonus[String(p.feature_set)] ?? 0);
    },
    overfit: gbmOverfit,
    secondsPerEpoch: (p) => 0.6 + (num(p, "n_estimators") / 100) * (num(p, "max_depth") / 6) * 0.8,
    statuses: ALL_FINISHED,
    failure: "",
    nested: { parents: 5, children: 7, featureSets: ["v2_tenure_bins", "v2_usage_ratios", "v2_support_tickets", "v2_all", "v2_all_pruned"] },
  },
  {
    team: "fraud",
    name: "fraud-xgb",
    description: "XGBoost on card transactions; heavy class imbalance, tuned for PR-AUC.",
    kind: "fraud-gbm",
    stage: "sweep",
    sourceName: "examples/fraud/train_xgb.py",
    runs: 80,
    window: [20, 3],
    epochs: [20, 60],
    train: { name: "fraud-train", source: "examples/fraud/transactions.csv", rows: 227845, columns: FRAUD_COLUMNS.length, schema: colspec(FRAUD_COLUMNS) },
    evaluation: { name: "fraud-eval", source: "examples/fraud/transactions_holdout.csv", rows: 56962, columns: FRAUD_COLUMNS.length, schema: colspec(FRAUD_COLUMNS) },
    features: FRAUD_FEATURES,
    classes: FRAUD_CLASSES,
    targets: { auc: [0.935, 0.985], valLoss: [0.012, 0.0032], precision: [0.55, 0.93], recall: [0.6, 0.86], lossStart: 0.693 },
    sample: (r) => ({
      learning_rate: r.pick([0.02, 0.05, 0.1, 0.2, 0.3]),
      max_depth: r.int(4, 10),
      n_estimators: r.pick([200, 400, 800, 1200]),
      scale_pos_weight: r.pick([1, 5, 25, 100, 577]),
      subsample: r.pick([0.6, 0.8, 1]),
      colsample_bytree: r.pick([0.6, 0.8, 1]),
      sampling: r.pick(["none", "undersample", "smote"]),
      feature_set: r.pick(["txn_v3", "txn_v4_velocity"]),
      tree_method: "hist",
      eval_metric: "aucpr",
      seed: r.pick([7, 42]),
    }),
    quality: (p) =>
      0.25 * near(Math.log10(num(p, "scale_pos_weight")), Math.log10(25), 0.8) +
      0.3 * near(Math.log10(num(p, "learning_rate") * num(p, "n_estimators")), Math.log10(40), 0.5) +
      0.15 * near(num(p, "max_depth"), 7, 2.5) +
      0.15 * (p.feature_set === "txn_v4_velocity" ? 1 : 0) +
      0.1 * (p.sampling === "smote" ? 0.5 : p.sampling === "undersample" ? 1 : 0.3) +
      0.05 * near(num(p, "subsample"), 0.8, 0.3),
    overfit: (p) => clamp((num(p, "max_depth") - 7) / 3 * 0.6 + (num(p, "learning_rate") * num(p, "n_estimators") > 100 ? 0.4 : 0), 0, 1),
    secondsPerEpoch: (p) => 2 + (num(p, "n_estimators") / 100) * (num(p, "max_depth") / 6) * 2.5,
    statuses: { failed: 2, killed: 1, running: false },
    failure: "KeyError: 'txn_count_1h' missing from the feature store snapshot",
  },
  {
    team: "fraud",
    name: "fraud-autoencoder",
    description: "Unsupervised autoencoder: reconstruction error as the anomaly score.",
    kind: "autoencoder",
    stage: "research",
    sourceName: "examples/fraud/autoencoder.py",
    runs: 30,
    window: [10, 1],
    epochs: [30, 60],
    train: { name: "fraud-train-legit", source: "examples/fraud/transactions_legit.csv", rows: 227451, columns: FRAUD_FEATURES.length, schema: colspec(FRAUD_FEATURES) },
    evaluation: { name: "fraud-eval", source: "examples/fraud/transactions_holdout.csv", rows: 56962, columns: FRAUD_COLUMNS.length, schema: colspec(FRAUD_COLUMNS) },
    features: FRAUD_FEATURES,
    classes: FRAUD_CLASSES,
    targets: { auc: [0.89, 0.958], valLoss: [0.34, 0.11], precision: [0.2, 0.62], recall: [0.55, 0.82], lossStart: 1 },
    sample: (r) => ({
      encoding_dim: r.pick([4, 8, 16, 32]),
      hidden_layers: r.pick(["[64, 32]", "[128, 64]", "[256, 128, 64]"]),
      learning_rate: r.pick([0.0001, 0.0003, 0.001, 0.003]),
      batch_size: r.pick([256, 512, 1024, 2048]),
      dropout: r.pick([0, 0.1, 0.2]),
      optimizer: r.pick(["adam", "adamw"]),
      activation: r.pick(["relu", "elu"]),
      threshold_percentile: r.pick([95, 99, 99.5]),
      seed: 42,
    }),
    quality: (p) =>
      0.3 * near(num(p, "encoding_dim"), 8, 8) +
      0.25 * near(Math.log10(num(p, "learning_rate")), -3, 0.6) +
      0.15 * (p.hidden_layers === "[128, 64]" ? 1 : p.hidden_layers === "[256, 128, 64]" ? 0.8 : 0.4) +
      0.15 * near(num(p, "threshold_percentile"), 99, 2) +
      0.1 * near(num(p, "dropout"), 0.1, 0.15) +
      0.05 * (p.optimizer === "adamw" ? 1 : 0.6),
    overfit: (p) => (num(p, "dropout") === 0 && num(p, "encoding_dim") >= 16 ? 0.5 : 0),
    secondsPerEpoch: (p) => 4 + 4096 / num(p, "batch_size"),
    statuses: { failed: 0, killed: 1, running: false },
    failure: "",
  },
  {
    team: "vision",
    name: "resnet-finetune",
    description: "Fine-tuning ImageNet ResNets on the surface-defect dataset (5 classes).",
    kind: "vision",
    stage: "finetune",
    sourceName: "examples/vision/finetune.py",
    runs: 25,
    window: [18, 0.9],
    epochs: [200, 200],
    train: { name: "defects-train", source: "examples/vision/defects/train", rows: 8000, columns: 2, schema: IMAGE_SCHEMA },
    evaluation: { name: "defects-val", source: "examples/vision/defects/val", rows: 1000, columns: 2, schema: IMAGE_SCHEMA },
    features: VISION_PROBES,
    classes: [{ label: "ok", count: 500 }, { label: "scratch", count: 150 }, { label: "dent", count: 130 }, { label: "crack", count: 120 }, { label: "stain", count: 100 }],
    targets: { auc: [0.95, 0.995], valLoss: [0.62, 0.14], precision: [0, 0], recall: [0, 0], lossStart: 1.609 },
    sample: (r) => ({
      backbone: r.pick(["resnet18", "resnet34", "resnet50"]),
      pretrained: "imagenet",
      learning_rate: r.pick([0.0001, 0.0003, 0.001, 0.003, 0.01]),
      batch_size: r.pick([32, 64, 128]),
      optimizer: r.pick(["sgd", "adamw"]),
      weight_decay: r.pick([0, 0.0001, 0.0005]),
      augmentation: r.pick(["basic", "randaugment"]),
      lr_schedule: r.pick(["cosine", "step"]),
      freeze_backbone: r.pick(["True", "False"]),
      label_smoothing: r.pick([0, 0.1]),
      image_size: 224,
      epochs: 200,
    }),
    quality: (p) =>
      0.25 * ({ resnet18: 0.5, resnet34: 0.8, resnet50: 1 }[String(p.backbone)] ?? 0.5) +
      0.25 * near(Math.log10(num(p, "learning_rate")), p.optimizer === "sgd" ? -2 : -3.3, 0.6) +
      0.15 * (p.augmentation === "randaugment" ? 1 : 0.3) +
      0.15 * (p.freeze_backbone === "False" ? 1 : 0.2) +
      0.1 * (num(p, "weight_decay") > 0 ? 1 : 0.4) +
      0.1 * (p.lr_schedule === "cosine" ? 1 : 0.7),
    overfit: (p) => clamp((p.augmentation === "basic" ? 0.5 : 0) + (num(p, "weight_decay") === 0 ? 0.4 : 0), 0, 1),
    secondsPerEpoch: (p) => ({ resnet18: 30, resnet34: 48, resnet50: 75 }[String(p.backbone)] ?? 40) * (p.freeze_backbone === "True" ? 0.55 : 1),
    statuses: { failed: 1, killed: 1, running: true },
    failure: "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.53 GiB",
  },
];

function gbmQuality(p: Params): number {
  return (
    0.4 * near(Math.log10(num(p, "learning_rate") * num(p, "n_estimators")), Math.log10(20), 0.45) +
    0.2 * near(num(p, "max_depth"), 6, 2.5) +
    0.1 * near(num(p, "subsample"), 0.8, 0.25) +
    0.05 * near(num(p, "colsample_bytree"), 0.7, 0.35) +
    0.1 * near(Math.log10(num(p, "regularization") + 0.1), 0, 1) +
    0.1 * (p.feature_set === "base_v2" ? 1 : 0.3) +
    0.05 * near(num(p, "min_child_weight") || 3, 3, 4)
  );
}

function gbmOverfit(p: Params): number {
  return clamp(((num(p, "max_depth") - 6) / 4) * 0.5 + (num(p, "learning_rate") * num(p, "n_estimators") > 60 ? 0.5 : 0), 0, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Run generation (pure: the same input always gives the same runs)

export type DemoPoint = { key: string; value: number; step: number; timestamp: number };

export type DemoRun = {
  id: string;
  name: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  userEmail: string;
  parentId: string | null;
  params: Params;
  tags: Record<string, string>;
  history: DemoPoint[];
  inputs: ("train" | "evaluation")[];
  /** The metric the experiment's best runs are chosen by (auc, or accuracy for vision); null when unfinished. */
  score: number | null;
  confusion: number[][] | null;
  importances: { feature: string; importance: number }[];
};

export type DemoExperiment = { spec: ExperimentSpec; creationTime: number; lastUpdateTime: number; trainDigest: string; evalDigest: string; runs: DemoRun[] };

type Finals = { values: Record<string, number>; confusion: number[][]; score: number; accuracy: number; auc: number };

function finalsFor(spec: ExperimentSpec, q: number, r: Random): Finals {
  const { targets } = spec;
  const lerp = ([lo, hi]: [number, number], t: number) => lo + (hi - lo) * t;
  const auc = clamp(lerp(targets.auc, q) + 0.004 * r.normal(), 0.5, 0.999);
  if (spec.classes.length === 2) {
    const [neg, pos] = [spec.classes[0]!.count, spec.classes[1]!.count];
    const recall = clamp(lerp(targets.recall, q) + 0.02 * r.normal(), 0.05, 0.99);
    const precision = clamp(lerp(targets.precision, q) + 0.02 * r.normal(), 0.05, 0.99);
    const tp = Math.max(1, Math.round(recall * pos));
    const fp = Math.min(neg, Math.round(tp * (1 / precision - 1)));
    const fn = pos - tp;
    const tn = neg - fp;
    const accuracy = (tp + tn) / (neg + pos);
    const values = { accuracy, auc, f1: (2 * tp) / (2 * tp + fp + fn), precision: tp / (tp + fp), recall: tp / pos };
    return { values, confusion: [[tn, fp], [fn, tp]], score: auc, accuracy, auc };
  }
  // Multiclass: each class's recall scatters around the overall accuracy; misses spread over the other classes.
  const k = spec.classes.length;
  const base = 0.8 + 0.16 * q;
  const confusion = spec.classes.map((c, i) => {
    const row = new Array<number>(k).fill(0);
    const hit = Math.round(c.count * clamp(base + (i === 0 ? 0.02 : -0.01) + 0.02 * r.normal(), 0.3, 0.995));
    row[i] = hit;
    const weights = row.map((_, j) => (j === i ? 0 : r.float(0.2, 1)));
    const total = weights.reduce((a, b) => a + b, 0);
    let left = c.count - hit;
    weights.forEach((w, j) => {
      if (j === i) return;
      const share = Math.min(left, Math.round(((c.count - hit) * w) / total));
      row[j] = share;
      left -= share;
    });
    row[i === 0 ? 1 : 0]! += left;
    return row;
  });
  const diag = confusion.map((row, i) => row[i]!);
  const colSums = spec.classes.map((_, j) => confusion.reduce((a, row) => a + row[j]!, 0));
  const recalls = diag.map((d, i) => d / spec.classes[i]!.count);
  const precisions = diag.map((d, i) => (colSums[i] ? d / colSums[i]! : 0));
  const f1s = recalls.map((rec, i) => (rec + precisions[i]! ? (2 * rec * precisions[i]!) / (rec + precisions[i]!) : 0));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const accuracy = diag.reduce((a, b) => a + b, 0) / spec.classes.reduce((a, c) => a + c.count, 0);
  return { values: { f1: mean(f1s), precision: mean(precisions), recall: mean(recalls), auc }, confusion, score: accuracy, accuracy, auc };
}

/** Learning-curve shape from 1 (first epoch) to 0 (last): exponential decay, with drops for a step LR schedule. */
function curveShape(epochs: number, rate: number, steps: boolean): number[] {
  const raw = Array.from({ length: epochs }, (_, t) => {
    const x = (t + 1) / epochs;
    return Math.exp(-rate * x) * (steps && x > 0.5 ? 0.45 : 1) * (steps && x > 0.75 ? 0.4 : 1);
  });
  const first = raw[0]!;
  const last = raw[epochs - 1]!;
  return raw.map((v) => (first === last ? 0 : (v - last) / (first - last)));
}

type Series = { key: string; start: number; end: number; noise: number; overfitBump?: number; bounds: [number, number] };

function seriesFor(spec: ExperimentSpec, q: number, o: number, fin: Finals, r: Random): Series[] {
  const t = spec.targets;
  const valLoss = t.valLoss[0] + (t.valLoss[1] - t.valLoss[0]) * q;
  const bump = valLoss * 0.35 * o;
  const loss = (key: string, end: number, noise: number, overfitBump = 0): Series => ({ key, start: t.lossStart, end, noise, overfitBump, bounds: [1e-5, 10] });
  const prob = (key: string, start: number, end: number, noise: number): Series => ({ key, start, end, noise, bounds: [0, 1] });
  const majority = spec.classes[0]!.count / spec.classes.reduce((a, c) => a + c.count, 0);
  switch (spec.kind) {
    case "logreg":
      return [
        loss("loss", valLoss * r.float(0.95, 0.99), 0.006),
        loss("val_loss", valLoss, 0.012, bump),
        prob("val_accuracy", majority, fin.accuracy, 0.004),
      ];
    case "gbm":
      return [
        loss("train_loss", valLoss * (0.82 - 0.3 * o), 0.004),
        loss("val_loss", valLoss, 0.01, bump),
        prob("val_auc", 0.68, fin.auc + 0.003 * r.normal(), 0.003),
      ];
    case "fraud-gbm":
      return [
        loss("train_loss", valLoss * (0.7 - 0.3 * o), 0.01),
        loss("val_loss", valLoss, 0.02, bump),
        prob("val_auc", 0.8, fin.auc + 0.002 * r.normal(), 0.002),
        prob("val_aucpr", 0.08, clamp(0.45 + 0.42 * q + 0.02 * r.normal(), 0, 0.98), 0.01),
      ];
    case "autoencoder":
      return [loss("train_loss", valLoss * (0.9 - 0.2 * o), 0.01), loss("val_loss", valLoss, 0.02, bump)];
    case "vision":
      return [
        loss("loss", valLoss * (0.45 - 0.25 * o), 0.02),
        loss("val_loss", valLoss, 0.03, bump),
        prob("accuracy", 0.2, clamp(fin.accuracy + 0.03 + 0.05 * o, 0, 0.999), 0.004),
        prob("val_accuracy", 0.2, fin.accuracy, 0.006),
      ];
  }
}

type Draft = { params: Params; epochs: number; stopAt: number; status: RunStatus; startTime: number; durations: number[]; setupMs: number };

/** Schedules one run's epochs: per-epoch wall time jitters around the config's pace. */
function schedule(spec: ExperimentSpec, p: Params, epochs: number, r: Random): { setupMs: number; durations: number[] } {
  const pace = spec.secondsPerEpoch(p) * 1000;
  return { setupMs: r.int(3_000, 25_000), durations: Array.from({ length: epochs }, () => Math.round(pace * clamp(1 + 0.08 * r.normal(), 0.7, 1.4))) };
}

function elapsed(d: { setupMs: number; durations: number[] }, epochs: number): number {
  let ms = d.setupMs;
  for (let i = 0; i < epochs; i++) ms += d.durations[i]!;
  return ms;
}

function buildRun(spec: ExperimentSpec, draft: Draft, r: Random, ctx: { names: Set<string>; people: string[]; commit: string; parentId: string | null; extraTags: Record<string, string> }): DemoRun {
  const id = r.hex(32);
  const name = runName(r, ctx.names);
  const q = clamp(spec.quality(draft.params) + 0.035 * r.normal(), 0, 1);
  const o = spec.overfit(draft.params);
  const fin = finalsFor(spec, q, r);
  const finished = draft.status === "FINISHED";
  const rate = spec.kind === "fraud-gbm" ? 7 : 3.5 + 3 * q + r.float(-0.5, 0.5);
  const shape = curveShape(draft.epochs, rate, spec.kind === "vision" && draft.params.lr_schedule === "step");
  const history: DemoPoint[] = [];
  const stamps: number[] = [];
  let at = draft.startTime + draft.setupMs;
  for (let step = 0; step < draft.stopAt; step++) {
    at += draft.durations[step]!;
    stamps.push(at);
  }
  for (const s of seriesFor(spec, q, o, fin, r)) {
    for (let step = 0; step < draft.stopAt; step++) {
      const x = (step + 1) / draft.epochs;
      const late = Math.max(0, (x - 0.5) / 0.5) ** 2;
      const bump = s.overfitBump ?? 0;
      // The bump is folded into the end value so the last point still lands on `end`.
      const clean = s.end - bump + (s.start - (s.end - bump)) * shape[step]! + bump * late;
      const value = clamp(clean * (1 + s.noise * r.normal() * (0.4 + shape[step]!)), s.bounds[0], s.bounds[1]);
      history.push({ key: s.key, value, step, timestamp: stamps[step]! });
    }
  }
  const lastStep = draft.stopAt - 1;
  const lastStamp = stamps[lastStep] ?? draft.startTime + draft.setupMs;
  if (finished) {
    for (const [key, value] of Object.entries(fin.values)) history.push({ key, value, step: lastStep, timestamp: lastStamp + 400 });
  }
  const endTime = draft.status === "RUNNING" ? null : lastStamp + r.int(1_000, 9_000);
  const weights = spec.features.map((f) => ({ feature: f.name, importance: r.float(0.02, 1) ** 2 }));
  const totalWeight = weights.reduce((a, w) => a + w.importance, 0);
  const userEmail = ctx.people.length ? r.pick(ctx.people) : "system";
  const tags: Record<string, string> = {
    "mlflow.runName": name,
    "mlflow.user": userEmail,
    "mlflow.source.name": spec.sourceName,
    "mlflow.source.type": "LOCAL",
    "mlflow.source.git.commit": ctx.commit,
    git_commit: ctx.commit,
    stage: spec.stage,
    ...ctx.extraTags,
    ...(ctx.parentId ? { "mlflow.parentRunId": ctx.parentId } : {}),
    ...(draft.status === "FAILED" ? { failure_reason: spec.failure } : {}),
  };
  const inputs: DemoRun["inputs"] = r.chance(0.92) ? (r.chance(0.35) ? ["train", "evaluation"] : ["train"]) : [];
  return {
    id, name, status: draft.status, startTime: draft.startTime, endTime, userEmail, parentId: ctx.parentId, params: draft.params, tags, history, inputs,
    score: finished ? fin.score : null,
    confusion: finished ? fin.confusion : null,
    importances: weights.map((w) => ({ ...w, importance: w.importance / totalWeight })).sort((a, b) => b.importance - a.importance),
  };
}

function buildExperiment(spec: ExperimentSpec, now: number, people: string[]): DemoExperiment {
  const r = random(`cairn-demo:${spec.name}`);
  const names = new Set<string>();
  const commits = Array.from({ length: 4 }, () => r.hex(40));
  const [fromDays, toDays] = spec.window;
  const from = now - fromDays * DAY;
  const to = now - toDays * DAY;
  const commitAt = (t: number) => commits[Math.min(commits.length - 1, Math.floor(((t - from) / (to - from + 1)) * commits.length))]!;
  const runsOut: DemoRun[] = [];

  if (spec.nested) {
    const { parents, children, featureSets } = spec.nested;
    const starts = Array.from({ length: parents }, () => r.float(from, to)).sort((a, b) => a - b);
    starts.forEach((parentStart, pi) => {
      const featureSet = featureSets[pi % featureSets.length]!;
      const parentId = r.hex(32);
      const parentName = runName(r, names);
      const owner = people.length ? r.pick(people) : "system";
      const kids: DemoRun[] = [];
      let at = Math.round(parentStart) + r.int(5_000, 20_000);
      for (let c = 0; c < children; c++) {
        const p: Params = { feature_set: featureSet, ...spec.sample(r) };
        const epochs = r.int(spec.epochs[0], spec.epochs[1]);
        const timing = schedule(spec, p, epochs, r);
        const draft: Draft = { params: p, epochs, stopAt: epochs, status: "FINISHED", startTime: at, ...timing };
        const kid = buildRun(spec, draft, r, { names, people: [owner], commit: commitAt(at), parentId, extraTags: { trial: String(c) } });
        kids.push(kid);
        at = (kid.endTime ?? at) + r.int(1_000, 4_000);
      }
      const best = kids.reduce((a, b) => ((b.score ?? 0) > (a.score ?? 0) ? b : a));
      const end = at + r.int(1_000, 3_000);
      const bestAuc = best.score ?? 0;
      runsOut.push({
        id: parentId, name: parentName, status: "FINISHED", startTime: Math.round(parentStart), endTime: end, userEmail: owner, parentId: null,
        params: { feature_set: featureSet, search_strategy: "random", n_trials: children, metric: "val_auc", cv_folds: 5, seed: 42 },
        tags: {
          "mlflow.runName": parentName, "mlflow.user": owner, "mlflow.source.name": spec.sourceName, "mlflow.source.type": "LOCAL",
          "mlflow.source.git.commit": commitAt(parentStart), git_commit: commitAt(parentStart), stage: spec.stage, role: "parent", best_trial: best.name,
        },
        history: [{ key: "best_val_auc", value: bestAuc, step: 0, timestamp: end - 500 }, { key: "trials_completed", value: children, step: 0, timestamp: end - 500 }],
        inputs: ["train"], score: null, confusion: null, importances: [],
      }, ...kids);
    });
  } else {
    const starts = Array.from({ length: spec.runs }, () => Math.round(r.float(from, to))).sort((a, b) => a - b);
    const statuses: RunStatus[] = starts.map(() => "FINISHED");
    if (spec.statuses.running) statuses[statuses.length - 1] = "RUNNING";
    const assign = (status: RunStatus, n: number) => {
      for (let placed = 0; placed < n;) {
        const i = r.int(0, statuses.length - 2);
        if (statuses[i] === "FINISHED") {
          statuses[i] = status;
          placed++;
        }
      }
    };
    assign("FAILED", spec.statuses.failed);
    assign("KILLED", spec.statuses.killed);
    starts.forEach((start, i) => {
      const status = statuses[i]!;
      const p = spec.sample(r);
      const epochs = r.int(spec.epochs[0], spec.epochs[1]);
      if (spec.kind === "logreg") p.epochs = epochs;
      const timing = schedule(spec, p, epochs, r);
      // Failed runs die early (some before their first epoch); killed and running ones get part-way.
      const stopAt = status === "FINISHED" ? epochs : status === "FAILED" ? Math.floor(epochs * r.float(0, 0.5)) : Math.floor(epochs * r.float(0.2, 0.8));
      // The running run started just long enough ago to have logged what it has.
      const startTime = status === "RUNNING" ? now - elapsed(timing, stopAt) - r.int(5_000, 60_000) : start;
      const draft: Draft = { params: p, epochs, stopAt, status, startTime, ...timing };
      runsOut.push(buildRun(spec, draft, r, { names, people, commit: commitAt(startTime), parentId: null, extraTags: {} }));
    });
  }

  const top = bestRuns(runsOut);
  for (const run of top) run.tags.candidate = "true";
  const creationTime = Math.min(...runsOut.map((x) => x.startTime)) - r.int(10, 120) * MINUTE;
  const lastUpdateTime = Math.max(...runsOut.map((x) => x.endTime ?? x.startTime));
  return { spec, creationTime, lastUpdateTime, trainDigest: r.hex(8), evalDigest: r.hex(8), runs: runsOut };
}

function bestRuns(all: DemoRun[]): DemoRun[] {
  return all
    .filter((x) => x.status === "FINISHED" && x.score !== null)
    .sort((a, b) => (b.score ?? 0) - (a.score ?? 0))
    .slice(0, TOP_RUNS_WITH_ARTIFACTS);
}

/**
 * The demo tracking data for each experiment whose team has people in `people` (team slug → member emails,
 * sorted; a team without members borrows the admins). Pure and deterministic for a given `now`.
 */
export function buildDemoTracking(now: number, people: Record<string, string[]>): DemoExperiment[] {
  return SPECS.filter((s) => people[s.team] !== undefined).map((s) => buildExperiment(s, now, people[s.team]!));
}

/** The latest point per key: highest step, then latest timestamp (MLflow's rule). */
export function latestPoints(history: DemoPoint[]): Map<string, DemoPoint> {
  const latest = new Map<string, DemoPoint>();
  for (const p of history) {
    const cur = latest.get(p.key);
    if (!cur || p.step > cur.step || (p.step === cur.step && p.timestamp > cur.timestamp)) latest.set(p.key, p);
  }
  return latest;
}

// ---------------------------------------------------------------------------------------------------------------
// Database

type PgArrayType = "text" | "float8" | "int8" | "uuid" | "jsonb";
type Column<R> = [column: PgColumn, type: PgArrayType, value: (row: R) => string | number | null];

/**
 * Multi-row INSERT of up to CHUNK rows, sending one array parameter per column and unnesting it server-side:
 * PGlite parses a handful of parameters far faster than the tens of thousands a VALUES list would bind.
 */
async function insertRows<R>(tx: DbOrTx, table: PgTable, columns: Column<R>[], rows: R[]): Promise<void> {
  const names = sql.join(columns.map(([column]) => sql.identifier(column.name)), sql`, `);
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const arrays = sql.join(columns.map(([, type, value]) => sql`${sql.param(chunk.map(value))}::${sql.raw(type)}[]`), sql`, `);
    await tx.execute(sql`insert into ${table} (${names}) select * from unnest(${arrays})`);
  }
}

type Person = { id: string; email: string };

async function teamPeople(db: Db): Promise<Map<string, { id: string; people: Person[] }>> {
  const teamRows = await db.select({ id: teams.id, slug: teams.slug }).from(teams);
  const memberRows = await db
    .select({ slug: teams.slug, id: users.id, email: users.email, role: memberships.role })
    .from(memberships)
    .innerJoin(teams, eq(teams.id, memberships.teamId))
    .innerJoin(users, eq(users.id, memberships.userId))
    .orderBy(asc(users.email));
  const admins = await db.select({ id: users.id, email: users.email }).from(users).where(eq(users.isAdmin, true)).orderBy(asc(users.email));
  const bySlug = new Map<string, { id: string; people: Person[] }>();
  for (const t of teamRows) {
    const members = memberRows.filter((m) => m.slug === t.slug).map((m) => ({ id: m.id, email: m.email }));
    // The demo vision team has no members yet; its runs are attributed to the platform admin instead.
    bySlug.set(t.slug, { id: t.id, people: members.length ? members : admins });
  }
  return bySlug;
}

async function insertExperiment(tx: DbOrTx, exp: DemoExperiment, teamId: string, userIds: Map<string, string>): Promise<number | null> {
  const { spec } = exp;
  const owner = exp.runs[0] ? userIds.get(exp.runs[0].userEmail) ?? null : null;
  const [row] = await tx
    .insert(experiments)
    .values({ teamId, name: spec.name, description: spec.description, artifactLocation: "pending", createdBy: owner, creationTime: exp.creationTime, lastUpdateTime: exp.lastUpdateTime })
    .onConflictDoNothing()
    .returning({ id: experiments.id });
  if (!row) return null;
  const experimentId = row.id;
  await tx.update(experiments).set({ artifactLocation: experimentArtifactLocation(experimentId) }).where(eq(experiments.id, experimentId));
  await tx.insert(experimentTags).values([
    { experimentId, key: "project", value: spec.team },
    { experimentId, key: "task", value: spec.classes.length === 2 ? "binary-classification" : "multiclass-classification" },
  ]);

  const datasetRow = (d: DatasetSpec, digest: string) => ({
    experimentId, name: d.name, digest, sourceType: "local", source: d.source, schema: d.schema,
    profile: JSON.stringify({ num_rows: d.rows, num_elements: d.rows * d.columns }),
  });
  const [trainSet, evalSet] = await tx
    .insert(datasets)
    .values([datasetRow(spec.train, exp.trainDigest), datasetRow(spec.evaluation, exp.evalDigest)])
    .returning({ id: datasets.id });

  type Point = DemoPoint & { runId: string };
  const byIndexOrder = (x: Point, y: Point) => (x.runId < y.runId ? -1 : x.runId > y.runId ? 1 : x.key < y.key ? -1 : x.key > y.key ? 1 : x.step - y.step);
  const pointColumns = (table: typeof metrics | typeof latestMetrics): Column<Point>[] => [
    [table.runId, "text", (m) => m.runId], [table.key, "text", (m) => m.key], [table.value, "float8", (m) => m.value],
    [table.step, "int8", (m) => m.step], [table.timestamp, "int8", (m) => m.timestamp],
  ];
  await insertRows(tx, runs, [
    [runs.id, "text", (run) => run.id], [runs.experimentId, "int8", () => experimentId], [runs.teamId, "uuid", () => teamId],
    [runs.name, "text", (run) => run.name], [runs.status, "text", (run) => run.status], [runs.startTime, "int8", (run) => run.startTime],
    [runs.endTime, "int8", (run) => run.endTime], [runs.userId, "text", (run) => run.userEmail],
    [runs.createdBy, "uuid", (run) => userIds.get(run.userEmail) ?? null], [runs.parentRunId, "text", (run) => run.parentId],
    [runs.artifactUri, "text", (run) => runArtifactUri(experimentId, run.id)],
  ], exp.runs);
  const paramRows = exp.runs.flatMap((run) => Object.entries(run.params).map(([key, value]) => ({ runId: run.id, key, value: String(value) })));
  await insertRows(tx, params, [[params.runId, "text", (p) => p.runId], [params.key, "text", (p) => p.key], [params.value, "text", (p) => p.value]], paramRows);
  const tagRows = exp.runs.flatMap((run) => Object.entries(run.tags).map(([key, value]) => ({ runId: run.id, key, value })));
  await insertRows(tx, runTags, [[runTags.runId, "text", (t) => t.runId], [runTags.key, "text", (t) => t.key], [runTags.value, "text", (t) => t.value]], tagRows);
  // In index order: each chunk then touches neighbouring b-tree pages instead of random ones.
  const metricRows = exp.runs.flatMap((run) => run.history.map((m) => ({ runId: run.id, ...m }))).sort(byIndexOrder);
  await insertRows(tx, metrics, pointColumns(metrics), metricRows);
  // Bulk rows bypass the write path that maintains the chart rollups: compute them here.
  await rebuildRollups(tx, exp.runs.map((run) => run.id));
  const latestRows = exp.runs.flatMap((run) => [...latestPoints(run.history).values()].map((m) => ({ runId: run.id, ...m }))).sort(byIndexOrder);
  await insertRows(tx, latestMetrics, pointColumns(latestMetrics), latestRows);
  const inputRows = exp.runs.flatMap((run) => run.inputs.map((which) => ({
    runId: run.id,
    datasetId: which === "train" ? trainSet!.id : evalSet!.id,
    tags: JSON.stringify([{ key: "mlflow.data.context", value: which === "train" ? "training" : "evaluation" }]),
  })));
  await insertRows(tx, runInputs, [[runInputs.runId, "text", (i) => i.runId], [runInputs.datasetId, "uuid", (i) => i.datasetId], [runInputs.tags, "jsonb", (i) => i.tags]], inputRows);
  // Last, once params, latest metrics and tags are all in: the runs table's column list.
  await rebuildExperimentKeys(tx, experimentId);
  return experimentId;
}

/**
 * Seeds the demo experiments, runs and artifacts. A no-op (zeros) when the database already has any experiment,
 * so it never mixes demo data into real work. Each experiment is its own transaction; artifacts are written
 * after it commits.
 */
export async function seedDemoTracking(db: Db, store: ArtifactStore): Promise<{ experiments: number; runs: number }> {
  const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(experiments);
  if (n > 0) return { experiments: 0, runs: 0 };
  const bySlug = await teamPeople(db);
  const people = Object.fromEntries([...bySlug].map(([slug, t]) => [slug, t.people.map((p) => p.email)]));
  const userIds = new Map([...bySlug.values()].flatMap((t) => t.people.map((p) => [p.email, p.id] as const)));
  const built = buildDemoTracking(Date.now(), people);
  let experimentCount = 0;
  let runCount = 0;
  // Artifact writes (file I/O) overlap the next experiment's inserts; failures are collected, never left unhandled.
  const writes: Promise<unknown>[] = [];
  const failures: unknown[] = [];
  for (const exp of built) {
    const teamId = bySlug.get(exp.spec.team)!.id;
    // Another instance seeding at the same moment wins the (team, name) race; this one then skips it.
    const experimentId = await db.transaction((tx) => insertExperiment(tx, exp, teamId, userIds));
    if (experimentId === null) continue;
    experimentCount++;
    runCount += exp.runs.length;
    for (const run of bestRuns(exp.runs)) {
      writes.push(writeArtifacts(store, [exp.spec.team, String(experimentId), run.id], exp, run).catch((err: unknown) => failures.push(err)));
    }
  }
  await Promise.all(writes);
  if (failures.length) throw failures[0];
  return { experiments: experimentCount, runs: runCount };
}

// ---------------------------------------------------------------------------------------------------------------
// Artifacts

/**
 * Customers (or transactions) encoded as the tabular models take them, logged as each model's input example
 * (model/input_example.json, MLflow's tf-serving "inputs" shape): the deployment page's Try it starts from them.
 */
const EXAMPLE_ROWS: Record<string, number[][]> = {
  churn: [[12, 70.5, 845, 2, 3, 2, 0, 0, 2, 38.5, 1], [60, 20, 1200, 0, 0, 1, 1, 0, 0, 12.1, 0]],
  fraud: [[129.99, 23, 4, 0, 380.2, 3, 11, 4.1, 12, 1], [18.5, 14, 2, 1, 2.3, 1, 4, 0.6, 820, 0]],
};

async function writeArtifacts(store: ArtifactStore, root: string[], exp: DemoExperiment, run: DemoRun): Promise<void> {
  const example = exp.spec.kind === "vision" ? undefined : EXAMPLE_ROWS[exp.spec.team]?.filter((r) => r.length === exp.spec.features.length);
  const files: [string, Uint8Array][] = [
    ["metrics.json", text(metricsJson(run))],
    ["confusion_matrix.csv", text(confusionCsv(exp.spec, run))],
    ["notes.md", text(notesMd(exp, run))],
    ["feature_importance.png", barChartPng(run.importances.slice(0, 10).map((f) => f.importance), TEAM_COLORS[exp.spec.team] ?? [37, 99, 235])],
    ["model/MLmodel", text(mlmodelYaml(exp.spec, run))],
    ["model/model.onnx", modelOnnx(exp.spec, run)],
    ...(example?.length ? [["model/input_example.json", text(`${JSON.stringify({ inputs: example })}\n`)] as [string, Uint8Array]] : []),
  ];
  // Sequential: the store fsyncs every file, and a handful of writes is not worth parallel contention.
  for (const [relPath, bytes] of files) await store.put(root, relPath, Readable.from([bytes]), { maxBytes: ARTIFACT_MAX_BYTES });
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const round = (v: number, digits = 4): number => Number(v.toFixed(digits));

function finalMetrics(run: DemoRun): Record<string, number> {
  return Object.fromEntries([...latestPoints(run.history).values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map((p) => [p.key, round(p.value, 5)]));
}

function metricsJson(run: DemoRun): string {
  return `${JSON.stringify({ run_id: run.id, run_name: run.name, metrics: finalMetrics(run), params: run.params }, null, 2)}\n`;
}

function confusionCsv(spec: ExperimentSpec, run: DemoRun): string {
  const labels = spec.classes.map((c) => c.label);
  const rows = (run.confusion ?? []).map((row, i) => [labels[i], ...row].join(","));
  return `${["actual\\predicted", ...labels].join(",")}\n${rows.join("\n")}\n`;
}

function notesMd(exp: DemoExperiment, run: DemoRun): string {
  const m = finalMetrics(run);
  const headline = exp.spec.kind === "vision" ? `val_accuracy ${m.val_accuracy}` : `AUC ${m.auc}`;
  const top = run.importances.slice(0, 3).map((f) => `\`${f.feature}\``).join(", ");
  return [
    `# ${run.name}`,
    "",
    `One of the best runs in **${exp.spec.name}** (${headline}, f1 ${m.f1}).`,
    "",
    "## Configuration",
    "",
    "| param | value |",
    "| --- | --- |",
    ...Object.entries(run.params).map(([k, v]) => `| ${k} | ${v} |`),
    "",
    "## Observations",
    "",
    `- Strongest signals: ${top}.`,
    `- Trained on \`${exp.spec.train.name}\` (${exp.spec.train.rows.toLocaleString("en-US")} rows), commit \`${run.tags.git_commit?.slice(0, 8)}\`.`,
    "- Candidate for the model registry once the holdout review is done.",
    "",
  ].join("\n");
}

/**
 * A real ONNX graph for the run's model: a linear classifier over the encoded feature vector whose
 * weights follow the run's feature importances (tabular), or a channel-mean classifier (vision).
 */
function modelOnnx(spec: ExperimentSpec, run: DemoRun): Uint8Array {
  const r = random(`onnx:${run.id}`);
  const classes = spec.classes.length;
  if (spec.kind === "vision") {
    return imageClassifierOnnx({
      channels: 3, height: 224, width: 224, classes,
      weights: Array.from({ length: 3 * classes }, () => round(r.float(-1, 1))), bias: Array.from({ length: classes }, () => round(r.float(-0.1, 0.1))),
    });
  }
  const importance = new Map(run.importances.map((f) => [f.feature, f.importance]));
  const cols = classes === 2 ? 1 : classes;
  const weights = spec.features.flatMap((f, i) => Array.from({ length: cols }, () => round((i % 2 === 0 ? 1 : -1) * (importance.get(f.name) ?? 0.01) * 8)));
  return linearClassifierOnnx({ features: spec.features.length, classes, weights, bias: Array.from({ length: cols }, () => round(r.float(-0.2, 0.2))) });
}

function mlmodelYaml(spec: ExperimentSpec, run: DemoRun): string {
  // The ONNX graph takes the encoded feature vector (columns in this order) as one float tensor.
  const inputs = spec.kind === "vision"
    ? [{ type: "tensor", name: "images", "tensor-spec": { dtype: "float32", shape: [-1, 3, 224, 224] } }]
    : [{ type: "tensor", name: "features", "tensor-spec": { dtype: "float32", shape: [-1, spec.features.length] } }];
  const outputs = [{ type: "tensor", name: "probabilities", "tensor-spec": { dtype: "float32", shape: [-1, spec.classes.length] } }];
  // YAML single-quoted scalars escape a quote by doubling it.
  const quoted = (v: unknown) => `'${JSON.stringify(v).replace(/'/g, "''")}'`;
  const created = new Date(run.endTime ?? run.startTime).toISOString().replace("T", " ").replace("Z", "000");
  return [
    "artifact_path: model",
    "flavors:",
    "  onnx:",
    "    code: null",
    "    data: model.onnx",
    "    onnx_version: 1.16.1",
    "    providers:",
    "    - CPUExecutionProvider",
    "  python_function:",
    "    data: model.onnx",
    "    env:",
    "      conda: conda.yaml",
    "      virtualenv: python_env.yaml",
    "    loader_module: mlflow.onnx",
    "    python_version: 3.11.9",
    "mlflow_version: 2.16.2",
    `model_uuid: ${[...run.id].reverse().join("")}`,
    ...(spec.kind !== "vision" && EXAMPLE_ROWS[spec.team]?.every((r) => r.length === spec.features.length)
      ? ["saved_input_example_info:", "  artifact_path: input_example.json", "  format: tf-serving", "  type: ndarray"]
      : []),
    `run_id: ${run.id}`,
    "signature:",
    `  inputs: ${quoted(inputs)}`,
    `  outputs: ${quoted(outputs)}`,
    "  params: null",
    `utc_time_created: '${created}'`,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// PNG: a horizontal bar chart, encoded by hand (signature, IHDR, IDAT, IEND) so the seed needs no image library.

const TEAM_COLORS: Record<string, [number, number, number]> = { churn: [37, 99, 235], fraud: [220, 38, 38], vision: [22, 163, 74] };

function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An RGB bar chart, one horizontal bar per value (largest first), scaled to the largest value. */
export function barChartPng(values: number[], color: [number, number, number]): Buffer {
  const width = 360;
  const barHeight = 16;
  const gap = 6;
  const margin = 14;
  const height = margin * 2 + Math.max(1, values.length) * (barHeight + gap) - gap;
  const max = Math.max(...values, 1e-9);
  const plotWidth = width - margin * 2;
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const rowStart = y * (width * 3 + 1);
    raw[rowStart] = 0; // filter: none
    const slot = Math.floor((y - margin) / (barHeight + gap));
    const inBar = y >= margin && slot < values.length && (y - margin) % (barHeight + gap) < barHeight;
    const barEnd = inBar ? margin + Math.round((plotWidth * values[slot]!) / max) : -1;
    for (let x = 0; x < width; x++) {
      let px: [number, number, number] = [255, 255, 255];
      const grid = x >= margin && (x - margin) % Math.round(plotWidth / 4) === 0 && y >= margin / 2 && y < height - margin / 2;
      if (grid) px = [226, 232, 240];
      if (x === margin && y >= margin / 2 && y < height - margin / 2) px = [100, 116, 139];
      if (inBar && x > margin && x < barEnd) px = color;
      raw.set(px, rowStart + 1 + x * 3);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour RGB
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter method
  ihdr[12] = 0; // no interlace
  return Buffer.concat([PNG_SIGNATURE, pngChunk("IHDR", ihdr), pngChunk("IDAT", deflateSync(raw)), pngChunk("IEND", new Uint8Array(0))]);
}
