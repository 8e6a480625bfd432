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

/** Example request bodies for one row of `features` values. */
export function exampleBodies(signature: ModelSignature | null): { infer: string; invocations: string } {
  const features = featureCount(signature) ?? 4;
  const row = Array.from({ length: features }, (_, i) => Math.round((0.1 + 0.8 * ((i * 7) % 10) / 10) * 100) / 100);
  const input = signature?.inputs[0]?.name ?? "input";
  return {
    infer: JSON.stringify({ inputs: [{ name: input, shape: [1, features], datatype: "FP32", data: row }] }, null, 2),
    invocations: JSON.stringify({ inputs: [row] }, null, 2),
  };
}
