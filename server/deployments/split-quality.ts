// Online quality of a split's variants from (prediction, true label) pairs. No statistics package is
// installed, so the AUC is computed exactly here: the Mann–Whitney rank statistic with tied scores given
// their mean rank, which equals the area under the ROC curve.

export type Labelled = { prediction: number; kind: "class" | "score"; label: number };

/** Area under the ROC curve of scores against 0/1 labels; null unless both classes are present. */
export function aucByRanks(pairs: { score: number; positive: boolean }[]): number | null {
  const positives = pairs.filter((p) => p.positive).length;
  const negatives = pairs.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const sorted = [...pairs].sort((a, b) => a.score - b.score);
  let rankSum = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.score === sorted[i]!.score) j++;
    // Ranks i+1 … j+1 share their mean.
    const mean = (i + 1 + j + 1) / 2;
    for (let k = i; k <= j; k++) if (sorted[k]!.positive) rankSum += mean;
    i = j + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Accuracy and AUC of one variant. Class predictions count as right when equal to the label; scores when
 * on the label's side of 0.5 (labels 0/1). AUC is given for scores only, over pairs whose label is 0 or 1.
 */
export function quality(pairs: Labelled[]): { labelled: number; accuracy: number | null; auc: number | null } {
  if (pairs.length === 0) return { labelled: 0, accuracy: null, auc: null };
  let right = 0;
  for (const p of pairs) {
    const predicted = p.kind === "class" ? p.prediction : p.prediction >= 0.5 ? 1 : 0;
    if (predicted === p.label) right++;
  }
  const scored = pairs.filter((p) => p.kind === "score" && (p.label === 0 || p.label === 1));
  return { labelled: pairs.length, accuracy: right / pairs.length, auc: aucByRanks(scored.map((p) => ({ score: p.prediction, positive: p.label === 1 }))) };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A row's prediction: a number as it is; [p0, p1] the positive class's score; a longer row its arg-max class. */
function fromRow(row: Json): { prediction: number; kind: "class" | "score" } | null {
  if (typeof row === "number" && Number.isFinite(row)) return { prediction: row, kind: Number.isInteger(row) ? "class" : "score" };
  if (typeof row === "boolean") return { prediction: row ? 1 : 0, kind: "class" };
  if (Array.isArray(row)) {
    const values = row.filter((v): v is number => typeof v === "number");
    if (values.length !== row.length || values.length === 0) return null;
    if (values.length === 1) return fromRow(values[0]!);
    if (values.length === 2) return { prediction: values[1]!, kind: "score" };
    return { prediction: values.indexOf(Math.max(...values)), kind: "class" };
  }
  if (row && typeof row === "object") {
    const first = Object.values(row)[0];
    return first === undefined ? null : fromRow(first);
  }
  return null;
}

/**
 * The first prediction of a model server's answer (Open Inference Protocol v2 `outputs` or MLflow's
 * `predictions`): the first output's first row. Null when the answer holds none.
 */
export function firstPrediction(body: unknown): { prediction: number; kind: "class" | "score" } | null {
  if (!body || typeof body !== "object") return null;
  const b = body as { outputs?: { shape?: number[]; data?: Json[] }[]; predictions?: Json };
  if (Array.isArray(b.outputs) && b.outputs[0] && Array.isArray(b.outputs[0].data)) {
    const { shape = [], data } = b.outputs[0];
    const width = shape.length >= 2 ? shape.slice(1).reduce((a, n) => a * n, 1) : 1;
    return fromRow(width === 1 ? (data[0] ?? null) : data.slice(0, width));
  }
  if (Array.isArray(b.predictions)) return b.predictions.length > 0 ? fromRow(b.predictions[0]!) : null;
  if (b.predictions && typeof b.predictions === "object") return fromRow(b.predictions);
  return null;
}
