// Kubernetes quantities ("500m", "4Gi", "1e3") as numbers of base units.
import type { K8sAmounts } from "@/lib/schemas/teams";

export const QUANTITY = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const MULT: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A Kubernetes quantity in base units ("500m" → 0.5, "4Gi" → 4294967296); NaN when it is not one. */
export function parseQuantity(q: string): number {
  const m = QUANTITY.exec(q.trim());
  return m ? Number(m[1]) * (m[2] ? MULT[m[2]]! : 1) : NaN;
}


/** A ResourceQuota's hard or used amounts in Cairn's units (its quotas bound requests, and pods); null without any. */
export function quotaAmounts(q: Record<string, string> | undefined): K8sAmounts | null {
  if (!q) return null;
  const n = (k: string, scale = 1) => (q[k] === undefined ? 0 : Math.round((parseQuantity(q[k]!) / scale) * 1000) / 1000);
  return { cpu: n("requests.cpu"), memory_gib: n("requests.memory", 2 ** 30), gpus: n("requests.nvidia.com/gpu"), pods: n("pods") };
}
