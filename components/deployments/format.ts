// Shared labels for deployments: status tones and the example requests the try-it panel starts from.

/** The part of a model's signature the panel needs (the registry's ModelSignature fits it). */
export type ModelSignature = { inputs: { name?: string; type: string; shape?: (number | string)[] }[] };

export const DEPLOYMENT_TONE: Record<string, "neutral" | "green" | "red" | "amber" | "blue" | "teal"> = {
  deploying: "amber", ready: "green", failed: "red", scaled_to_zero: "blue", stopped: "neutral",
};

/** Deployments that hold replicas (and a slot of the team's quota). */
export const LIVE_STATUSES: ReadonlySet<string> = new Set(["deploying", "ready", "scaled_to_zero"]);

/** "scaled_to_zero" → "scaled to zero". */
export const statusLabel = (status: string) => status.replace(/_/g, " ");

export const ENVIRONMENT_TONE: Record<string, "amber" | "teal"> = { staging: "teal", production: "amber" };

/** Features per row of the model's first input ([-1, F] → F), when the signature says. */
export function featureCount(signature: ModelSignature | null): number | null {
  const dim = signature?.inputs[0]?.shape?.at(-1);
  return typeof dim === "number" && dim > 0 ? dim : null;
}

/**
 * The rows of a logged input example (MLflow's shapes: {"inputs": [[…]]}, {"instances": […]},
 * {"dataframe_split": {"data": [[…]]}}, or a bare list of rows), when they are rows of numbers; at most `max`.
 */
export function exampleRows(example: string | null, max = 3): number[][] | null {
  if (!example) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(example);
  } catch {
    return null;
  }
  const o = doc && typeof doc === "object" && !Array.isArray(doc) ? (doc as Record<string, unknown>) : null;
  const split = o?.dataframe_split && typeof o.dataframe_split === "object" ? (o.dataframe_split as Record<string, unknown>).data : undefined;
  const rows = Array.isArray(doc) ? doc : (o?.inputs ?? o?.instances ?? split);
  if (!Array.isArray(rows) || rows.length === 0) return null;
  const numeric = rows.slice(0, max).map((r) => (Array.isArray(r) && r.length > 0 && r.every((x) => typeof x === "number" || typeof x === "boolean") ? r.map(Number) : null));
  return numeric.every((r): r is number[] => r !== null) && new Set(numeric.map((r) => r.length)).size === 1 ? numeric : null;
}

/**
 * Example request bodies: the model's logged input example when it has one (real rows, as the model was
 * trained on), else one row of placeholder values of the signature's width.
 */
export function exampleBodies(signature: ModelSignature | null, inputExample: string | null = null): { infer: string; invocations: string; fromExample: boolean } {
  const logged = exampleRows(inputExample);
  const features = logged?.[0]?.length ?? featureCount(signature) ?? 4;
  const rows = logged ?? [Array.from({ length: features }, (_, i) => Math.round((0.1 + 0.8 * ((i * 7) % 10) / 10) * 100) / 100)];
  const input = signature?.inputs[0]?.name ?? "input";
  return {
    infer: JSON.stringify({ inputs: [{ name: input, shape: [rows.length, features], datatype: "FP32", data: rows.flat() }] }, null, 2),
    invocations: JSON.stringify({ inputs: rows }, null, 2),
    fromExample: logged !== null,
  };
}
