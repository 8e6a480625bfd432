// Talking to the Kubernetes API server: its errors are Status objects (code, reason, message), a 429
// asks to come back after Retry-After, and anything unexpected is an outage Cairn reports as such.
import { ApiException } from "@kubernetes/client-node";
import type { ApisApi } from "@kubernetes/client-node";
import { AppError } from "../errors";

export type K8sStatus = { code: number; reason: string; message: string; details?: { name?: string; kind?: string } };

/** The Status object behind a failed call, or null when the error is not an API answer (network, abort…). */
export function k8sStatus(err: unknown): K8sStatus | null {
  if (!(err instanceof ApiException)) return null;
  const code = Number(err.code);
  let body: Partial<K8sStatus> = {};
  try {
    body = (typeof err.body === "string" ? JSON.parse(err.body) : err.body ?? {}) as Partial<K8sStatus>;
  } catch {
    // a non-JSON body (a proxy's error page): code alone
  }
  return { code: body.code ?? code, reason: body.reason ?? "", message: body.message ?? `HTTP ${code}`, details: body.details };
}

export function hasStatus(err: unknown, code: number): boolean {
  return statusOf(err)?.code === code;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one API call, waiting out 429 TooManyRequests (API Priority & Fairness) a few times. */
export async function k8sCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await call();
    } catch (err) {
      const status = k8sStatus(err);
      if (status?.code === 429 && tries < 5) {
        const header = err instanceof ApiException ? Number((err.headers as Record<string, string>)["retry-after"]) : NaN;
        await sleep(Math.min(10, Number.isFinite(header) && header > 0 ? header : 1) * 1000);
        continue;
      }
      if (status) throw Object.assign(new AppError("upstream_unavailable", `Kubernetes refused to ${what}: ${status.message}`), { k8s: status });
      throw new AppError("upstream_unavailable", `Kubernetes API unreachable while trying to ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The Status carried by an error from k8sCall (or a raw ApiException). */
export function statusOf(err: unknown): K8sStatus | null {
  if (err && typeof err === "object" && "k8s" in err) return (err as { k8s: K8sStatus }).k8s;
  return k8sStatus(err);
}

/** Whether the cluster serves Kueue's API group (its CRDs are installed). */
export async function servesKueue(apis: ApisApi): Promise<boolean> {
  const groups = await k8sCall("list API groups", () => apis.getAPIVersions());
  return groups.groups.some((g) => g.name === "kueue.x-k8s.io");
}
