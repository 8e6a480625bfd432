// The fake API server's resource table, selectors and validation: every object is checked against the
// official OpenAPI schemas (kubernetes-models), plus the checks a real API server makes beyond the
// schema (DNS names, label values, required images, requests <= limits, extended resources).
import type http from "node:http";
import { Job } from "kubernetes-models/batch/v1/Job";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { Event } from "kubernetes-models/v1/Event";
import { LimitRange } from "kubernetes-models/v1/LimitRange";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Pod } from "kubernetes-models/v1/Pod";
import { parseQuantity } from "../../tenants/quantity";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { ResourceQuota } from "kubernetes-models/v1/ResourceQuota";
import { Secret } from "kubernetes-models/v1/Secret";

type OwnerRef = { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean };
export type KObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerRef[];
  };
  [field: string]: unknown;
};

type Validatable = { validate(): void };
type Resource = { plural: string; kind: string; apiVersion: string; group: string; gr: string; model: new (data: never) => Validatable };

const core = (plural: string, kind: string, model: Resource["model"]): Resource => ({ plural, kind, apiVersion: "v1", group: "", gr: plural, model });
const grouped = (group: string, version: string, plural: string, kind: string, model: Resource["model"]): Resource => ({ plural, kind, apiVersion: `${group}/${version}`, group, gr: `${plural}.${group}`, model });

/**
 * Kueue's LocalQueue is a CustomResource (no kubernetes-models class): checked against its CRD's
 * OpenAPI schema by hand — spec.clusterQueue is a required DNS subdomain, and nothing else is allowed.
 */
class LocalQueue {
  constructor(private readonly data: { spec?: Record<string, unknown> }) {}
  validate(): void {
    const errors: { instancePath: string; message: string }[] = [];
    const spec = this.data.spec;
    if (!spec || typeof spec !== "object") errors.push({ instancePath: "/spec", message: "Required value" });
    else {
      if (typeof spec.clusterQueue !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(spec.clusterQueue)) {
        errors.push({ instancePath: "/spec/clusterQueue", message: "Required value: a DNS subdomain naming a ClusterQueue" });
      }
      for (const k of Object.keys(spec)) if (!["clusterQueue", "stopPolicy", "fairSharing"].includes(k)) errors.push({ instancePath: `/spec/${k}`, message: `unknown field "spec.${k}"` });
    }
    if (errors.length) throw Object.assign(new Error("invalid LocalQueue"), { errors });
  }
}

export const RESOURCES: Record<string, Resource> = {
  namespaces: core("namespaces", "Namespace", Namespace as unknown as Resource["model"]),
  pods: core("pods", "Pod", Pod as unknown as Resource["model"]),
  secrets: core("secrets", "Secret", Secret as unknown as Resource["model"]),
  events: core("events", "Event", Event as unknown as Resource["model"]),
  resourcequotas: core("resourcequotas", "ResourceQuota", ResourceQuota as unknown as Resource["model"]),
  limitranges: core("limitranges", "LimitRange", LimitRange as unknown as Resource["model"]),
  jobs: grouped("batch", "v1", "jobs", "Job", Job as unknown as Resource["model"]),
  roles: grouped("rbac.authorization.k8s.io", "v1", "roles", "Role", Role as unknown as Resource["model"]),
  rolebindings: grouped("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", RoleBinding as unknown as Resource["model"]),
  localqueues: grouped("kueue.x-k8s.io", "v1beta1", "localqueues", "LocalQueue", LocalQueue as unknown as Resource["model"]),
  networkpolicies: grouped("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", NetworkPolicy as unknown as Resource["model"]),
};

export function resourceFor(plural: string): Resource | undefined {
  return RESOURCES[plural];
}

// ---- selectors ------------------------------------------------------------------------------------

function field(obj: unknown, dotted: string): string | undefined {
  let cur: unknown = obj;
  for (const part of dotted.split(".")) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[part] : undefined;
  return cur === undefined || cur === null ? undefined : String(cur);
}

/** `a=b,c!=d,e` label selectors and `metadata.name=x,involvedObject.name=y` field selectors. */
export function selectorMatches(obj: KObject, labels: string | null, fields: string | null): boolean {
  const have = obj.metadata.labels ?? {};
  for (const term of (labels ?? "").split(",").filter(Boolean)) {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) {
      if (term.startsWith("!") ? term.slice(1) in have : !(term in have)) return false;
    } else if (m[2] === "!=" ? have[m[1]!] === m[3] : have[m[1]!] !== m[3]) return false;
  }
  for (const term of (fields ?? "").split(",").filter(Boolean)) {
    const m = /^([^!=]+?)(==|=|!=)(.*)$/.exec(term);
    if (!m) return false;
    const value = field(obj, m[1]!) ?? "";
    if (m[2] === "!=" ? value === m[3] : value !== m[3]) return false;
  }
  return true;
}

// ---- validation -------------------------------------------------------------------------------------

export type Cause = { field: string; message: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Parses a quantity ("2", "500m", "4Gi", "1e3") to a number of base units. */
export function quantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  return typeof q === "number" ? q : parseQuantity(q);
}

function validateMeta(plural: string, obj: KObject, causes: Cause[]): void {
  const name = obj.metadata?.name ?? "";
  const label = plural === "namespaces" || plural === "jobs";
  if (!name) causes.push({ field: "metadata.name", message: "Required value: name or generateName is required" });
  else if (label ? !DNS_LABEL.test(name) || name.length > 63 : !DNS_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push({ field: "metadata.name", message: `Invalid value: "${name}": a lowercase RFC 1123 ${label ? "label" : "subdomain"} must consist of lower case alphanumeric characters, '-' or '.'` });
  }
  checkLabels("metadata.labels", obj.metadata?.labels, causes);
  for (const [i, o] of (obj.metadata?.ownerReferences ?? []).entries()) {
    if (!o.uid) causes.push({ field: `metadata.ownerReferences[${i}].uid`, message: "Invalid value: \"\": uid must not be empty" });
  }
}

function checkLabels(path: string, labels: Record<string, string> | undefined, causes: Cause[]): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const [prefix, key] = k.includes("/") ? [k.slice(0, k.indexOf("/")), k.slice(k.indexOf("/") + 1)] : ["", k];
    if ((prefix && !DNS_SUBDOMAIN.test(prefix)) || !LABEL_NAME.test(key) || key.length > 63) causes.push({ field: path, message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'` });
    if (v.length > 63 || !LABEL_VALUE.test(v)) causes.push({ field: `${path}`, message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', at most 63 characters` });
  }
}

function validatePodSpec(path: string, spec: IPodSpec | undefined, causes: Cause[]): void {
  if (!spec) return causes.push({ field: path, message: "Required value" }) as unknown as void;
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  const all = [...(spec.initContainers ?? []).map((c, i) => ({ c, at: `${path}.initContainers[${i}]` })), ...spec.containers.map((c, i) => ({ c, at: `${path}.containers[${i}]` }))];
  const names = new Set<string>();
  for (const { c, at } of all) {
    if (!DNS_LABEL.test(c.name)) causes.push({ field: `${at}.name`, message: `Invalid value: "${c.name}": must be a DNS label` });
    if (names.has(c.name)) causes.push({ field: `${at}.name`, message: `Duplicate value: "${c.name}"` });
    names.add(c.name);
    if (!c.image) causes.push({ field: `${at}.image`, message: "Required value" });
    for (const [i, e] of (c.env ?? []).entries()) if (!ENV_NAME.test(e.name)) causes.push({ field: `${at}.env[${i}].name`, message: `Invalid value: "${e.name}": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.'` });
    for (const [i, m] of (c.volumeMounts ?? []).entries()) if (!volumes.has(m.name)) causes.push({ field: `${at}.volumeMounts[${i}].name`, message: `Not found: "${m.name}"` });
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    for (const [k, v] of Object.entries(requests)) {
      const lim = limits[k];
      const standard = k === "cpu" || k === "memory" || k === "ephemeral-storage";
      if (!standard && lim === undefined) causes.push({ field: `${at}.resources.limits`, message: `Required value: Limit must be set for non overcommitable resources` });
      if (!standard && lim !== undefined && quantity(lim) !== quantity(v)) causes.push({ field: `${at}.resources.requests[${k}]`, message: `Invalid value: "${v}": must be equal to ${k} limit of ${lim}` });
      if (standard && lim !== undefined && quantity(v) > quantity(lim)) causes.push({ field: `${at}.resources.requests`, message: `Invalid value: "${v}": must be less than or equal to ${k} limit of ${lim}` });
    }
  }
}

/** Everything a real API server would refuse with 422 Invalid, as field causes. */
export function validateObject(plural: string, obj: KObject): Cause[] {
  const causes: Cause[] = [];
  const r = RESOURCES[plural]!;
  try {
    new r.model(obj as never).validate();
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors ?? [];
    for (const e of errors) causes.push({ field: e.instancePath.replace(/^\//, "").replace(/\//g, "."), message: e.message ?? "invalid" });
    if (!errors.length) causes.push({ field: "", message: String(err) });
  }
  validateMeta(plural, obj, causes);
  if (plural === "jobs") {
    const job = obj as unknown as IJob;
    const tpl = job.spec?.template;
    checkLabels("spec.template.metadata.labels", tpl?.metadata?.labels, causes);
    validatePodSpec("spec.template.spec", tpl?.spec, causes);
    const policy = tpl?.spec?.restartPolicy;
    if (policy !== "Never" && policy !== "OnFailure") causes.push({ field: "spec.template.spec.restartPolicy", message: `Unsupported value: "${policy ?? "Always"}": supported values: "OnFailure", "Never"` });
  }
  if (plural === "pods") validatePodSpec("spec", (obj as { spec?: IPodSpec }).spec, causes);
  if (plural === "resourcequotas") {
    for (const [k, v] of Object.entries((obj.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {})) {
      if (!Number.isFinite(quantity(v)) || quantity(v) < 0) causes.push({ field: `spec.hard[${k}]`, message: `Invalid value: "${v}": must be a non-negative quantity` });
    }
  }
  if (plural === "limitranges") {
    type Item = { type?: string } & Partial<Record<"min" | "max" | "default" | "defaultRequest", Record<string, string>>>;
    for (const [i, item] of (((obj.spec as { limits?: Item[] } | undefined)?.limits) ?? []).entries()) {
      for (const part of ["min", "max", "default", "defaultRequest"] as const) {
        for (const [k, v] of Object.entries(item[part] ?? {})) {
          if (!Number.isFinite(quantity(v)) || quantity(v) < 0) causes.push({ field: `spec.limits[${i}].${part}[${k}]`, message: `Invalid value: "${v}": must be a non-negative quantity` });
        }
      }
      // The API server's own cross-checks (pkg/apis/core/validation: validateLimitRangeSpec).
      for (const k of new Set([...Object.keys(item.min ?? {}), ...Object.keys(item.max ?? {}), ...Object.keys(item.defaultRequest ?? {})])) {
        const min = item.min?.[k], max = item.max?.[k], req = item.defaultRequest?.[k];
        if (min !== undefined && max !== undefined && quantity(min) > quantity(max)) causes.push({ field: `spec.limits[${i}].min[${k}]`, message: `Invalid value: "${min}": min value ${min} is greater than max value ${max}` });
        if (req !== undefined && min !== undefined && quantity(min) > quantity(req)) causes.push({ field: `spec.limits[${i}].defaultRequest[${k}]`, message: `Invalid value: "${req}": min value ${min} is greater than default request value ${req}` });
        if (req !== undefined && max !== undefined && quantity(req) > quantity(max)) causes.push({ field: `spec.limits[${i}].defaultRequest[${k}]`, message: `Invalid value: "${req}": default request value ${req} is greater than max value ${max}` });
      }
    }
  }
  return causes;
}

// ---- answers ----------------------------------------------------------------------------------------

export function send(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export function sendStatus(res: http.ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
  send(res, code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code });
}

