// How the gateway reaches a deployment's Service on Kubernetes (CAIRN_K8S_SERVING_ROUTE): a URL template over
// cluster DNS (default http://{service}.{namespace}.svc — Cairn running inside the cluster), or "proxy":
// through the API server's service proxy (/api/v1/namespaces/{ns}/services/{name}:http/proxy/…) with
// Cairn's own kubeconfig credentials (needs `services/proxy` in the namespace; works from outside the cluster).
import https from "node:https";
import http from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { namespaceFor } from "./k8s-manifest";
import { servingName } from "./k8s-serving-manifest";

export type ServiceRequest = { team: string; deploymentId: string; method: string; path: string; body: Uint8Array | ArrayBuffer | null; contentType: string | null; timeoutMs: number; secret: string };
export type ServiceAnswer = { status: number; contentType: string | null; body: Buffer };

/** The address a request for the deployment goes to, for a URL template. */
export function serviceUrl(template: string, team: string, deploymentId: string, path: string): string {
  const base = template.replaceAll("{service}", servingName(deploymentId)).replaceAll("{namespace}", namespaceFor(team)).replace(/\/+$/, "");
  return `${base}${path}`;
}

function send(url: URL, options: https.RequestOptions, body: Uint8Array | ArrayBuffer | null, timeoutMs: number): Promise<ServiceAnswer> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? https : http).request(url, { ...options, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 502, contentType: res.headers["content-type"] ?? null, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(body ? (body instanceof Uint8Array ? body : Buffer.from(body)) : undefined);
  });
}

/** Sends one request to the deployment's Service, by the configured route. */
export async function callService(route: string, kubeConfig: () => KubeConfig, req: ServiceRequest): Promise<ServiceAnswer> {
  // The pods answer only requests that carry their deployment's replica secret (the gateway's).
  const headers: Record<string, string> = { "x-cairn-replica-secret": req.secret, ...(req.contentType ? { "content-type": req.contentType } : {}) };
  if (route !== "proxy") return send(new URL(serviceUrl(route, req.team, req.deploymentId, req.path)), { method: req.method, headers }, req.body, req.timeoutMs);
  const kc = kubeConfig();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no current cluster in the kubeconfig");
  const url = new URL(`${cluster.server.replace(/\/+$/, "")}/api/v1/namespaces/${namespaceFor(req.team)}/services/${servingName(req.deploymentId)}:http/proxy${req.path}`);
  const options: https.RequestOptions = { method: req.method, headers };
  await kc.applyToHTTPSOptions(options);
  return send(url, options, req.body, req.timeoutMs);
}
