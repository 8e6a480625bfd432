// The tenant sync's side of the Kubernetes API: read each object a team should have, create it when
// missing, and replace the fields Cairn owns when they differ (drift) — with the resourceVersion it read,
// so a concurrent writer makes the replace fail with 409 Conflict and the sync reads again. A
// RoleBinding's roleRef cannot change in place: it is deleted and created again.
import { ApisApi, dumpYaml, KubernetesObjectApi, loadYaml } from "@kubernetes/client-node";
import YAML from "yaml";
import type { KubernetesObject , KubeConfig} from "@kubernetes/client-node";
import { AppError } from "../errors";
import { hasStatus, k8sCall, servesKueue, statusOf } from "../compute/k8s-api";
import { MANAGED_BY } from "../compute/k8s-manifest";
import type { Desired } from "./manifests";
import { LIMITS_NAME, QUOTA_NAME } from "./manifests";
import { parseQuantity, QUANTITY } from "./quantity";

export type Outcome = { kind: string; name: string; action: "unchanged" | "created" | "updated" | "recreated" | "deleted"; differences: string[] };
export type QuotaStatus = { hard: Record<string, string>; used: Record<string, string> };

type Obj = KubernetesObject & Record<string, unknown> & { metadata: NonNullable<KubernetesObject["metadata"]> & { name: string } };

const present = (v: unknown) => v !== undefined && v !== null;

/**
 * Paths where `want` and `have` differ, e.g. `spec.hard["requests.cpu"]: "8" → "64"`. Absent and null are
 * the same; with `quantities`, strings that are quantities compare by value ("1Gi" equals "1024Mi").
 */
function diff(want: unknown, have: unknown, at: string, quantities: boolean, out: string[]): void {
  const show = (v: unknown) => (present(v) ? JSON.stringify(v) : "missing");
  const path = at.replace(/^\./, "");
  const isMap = (v: unknown) => !!v && typeof v === "object" && !Array.isArray(v);
  if (isMap(want) && isMap(have)) {
    const w = want as Record<string, unknown>, h = have as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(w), ...Object.keys(h)])].sort()) diff(w[k], h[k], /^[A-Za-z_]\w*$/.test(k) ? `${at}.${k}` : `${at}["${k}"]`, quantities, out);
    return;
  }
  if (Array.isArray(want) && Array.isArray(have) && want.length === have.length) {
    want.forEach((w, i) => diff(w, have[i], `${at}[${i}]`, quantities, out));
    return;
  }
  if (!present(want) && !present(have)) return;
  if (typeof want === "string" && typeof have === "string") {
    const same = want === have || (quantities && QUANTITY.test(want) && QUANTITY.test(have) && Math.abs(parseQuantity(want) - parseQuantity(have)) < 1e-9);
    if (!same) out.push(`${path}: ${show(have)} → ${show(want)}`);
    return;
  }
  if (JSON.stringify(want) !== JSON.stringify(have)) out.push(`${path}: ${show(have)} → ${show(want)}`);
}

// KubernetesObjectApi speaks the client's model classes (LimitRangeItem's "default" is `_default` there);
// Cairn builds and compares plain API JSON, converted at the edge.
const toModel = (plain: Obj): Obj => loadYaml(JSON.stringify(plain));

/** The value at a dotted path ("spec.clusterQueue"). */
function at(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);
}

/** Sets the value at a dotted path, making the objects on the way (a copy of `obj`'s branches is not made). */
function setAt(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    const next = o[k];
    o = o[k] = next && typeof next === "object" ? { ...(next as Record<string, unknown>) } : {};
  }
  o[keys.at(-1)!] = value;
}
const toPlain = (model: unknown): Obj => YAML.parse(dumpYaml(model)) as Obj;

export class TenantCluster {
  private readonly api: KubernetesObjectApi;
  private readonly apis: ApisApi;

  constructor(kc: KubeConfig) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
    this.apis = kc.makeApiClient(ApisApi);
  }

  /** Whether the cluster serves Kueue's API group (its CRDs are installed). */
  async hasKueue(): Promise<boolean> {
    return servesKueue(this.apis);
  }

  private ref(d: Desired): Obj {
    return { apiVersion: d.body.apiVersion as string, kind: d.kind, metadata: { name: d.name, ...(d.namespace ? { namespace: d.namespace } : {}) } };
  }

  private async read(d: Desired): Promise<Obj | null> {
    try {
      const obj = await k8sCall(`read ${d.kind} ${d.name}`, () => this.api.read(this.ref(d)));
      return toPlain({ ...obj, apiVersion: obj.apiVersion ?? d.body.apiVersion, kind: obj.kind ?? d.kind });
    } catch (err) {
      if (hasStatus(err, 404)) return null;
      throw err;
    }
  }

  /** What differs between the object as it is and as Cairn wants it (only Cairn's labels and owned fields count). */
  differences(d: Desired, current: Obj): string[] {
    const out: string[] = [];
    const labels = current.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(d.body.metadata.labels)) if (labels[k] !== v) out.push(`metadata.labels["${k}"]: ${labels[k] === undefined ? "missing" : JSON.stringify(labels[k])} → ${JSON.stringify(v)}`);
    const quantities = d.kind === "ResourceQuota" || d.kind === "LimitRange";
    for (const f of d.owned) {
      // The API server defaults a ServiceAccount subject's apiGroup to "".
      const have = f === "subjects" ? (current[f] as Record<string, unknown>[] | undefined)?.map(({ apiGroup, ...s }) => (apiGroup ? { apiGroup, ...s } : s)) : at(current, f);
      diff(at(d.body, f), have, f, quantities, out);
    }
    return out;
  }

  /** Makes one object what Cairn wants it to be; retries a few times when another writer interleaves (409). */
  async apply(d: Desired): Promise<Outcome> {
    const what = `${d.kind} ${d.namespace ? `${d.namespace}/` : ""}${d.name}`;
    let recreated: string[] | null = null;
    for (let tries = 0; tries < 4; tries++) {
      const current = await this.read(d);
      if (!current) {
        try {
          await k8sCall(`create ${what}`, () => this.api.create(toModel(d.body)));
          return recreated ? { kind: d.kind, name: d.name, action: "recreated", differences: recreated } : { kind: d.kind, name: d.name, action: "created", differences: [] };
        } catch (err) {
          if (hasStatus(err, 409)) continue; // created by someone else meanwhile: read it and compare
          throw err;
        }
      }
      const differences = this.differences(d, current);
      if (!differences.length) return { kind: d.kind, name: d.name, action: recreated ? "recreated" : "unchanged", differences: recreated ?? [] };
      if (d.immutable?.some((f) => differences.some((x) => x.startsWith(f)))) {
        // The API server refuses to change these in place: delete (only the object just read) and create again.
        await this.remove(d, current);
        recreated = differences;
        continue;
      }
      const { status: _status, ...rest } = current;
      const body: Obj = {
        ...rest,
        metadata: {
          name: d.name, ...(d.namespace ? { namespace: d.namespace } : {}), resourceVersion: current.metadata?.resourceVersion,
          labels: { ...current.metadata?.labels, ...d.body.metadata.labels },
          ...(current.metadata?.annotations ? { annotations: current.metadata.annotations } : {}),
          ...(current.metadata?.ownerReferences ? { ownerReferences: current.metadata.ownerReferences } : {}),
          ...(current.metadata?.finalizers ? { finalizers: current.metadata.finalizers } : {}),
        },
      };
      for (const f of d.owned) setAt(body, f, structuredClone(at(d.body, f)));
      try {
        await k8sCall(`update ${what}`, () => this.api.replace(toModel(body)));
        return { kind: d.kind, name: d.name, action: "updated", differences };
      } catch (err) {
        if (statusOf(err)?.code === 409) continue; // Conflict: changed since read
        throw err;
      }
    }
    throw new AppError("conflict", `Kubernetes: ${what} kept changing while Cairn tried to update it (409 Conflict four times); the next pass retries.`);
  }

  private async remove(d: Pick<Desired, "kind" | "name" | "namespace" | "body">, current: Obj): Promise<void> {
    const what = `${d.kind} ${d.namespace ? `${d.namespace}/` : ""}${d.name}`;
    try {
      // Preconditions: only the object as read goes; one replaced meanwhile answers 409 and is read again.
      const preconditions = { uid: current.metadata?.uid, resourceVersion: current.metadata?.resourceVersion };
      await k8sCall(`delete ${what}`, () =>
        this.api.delete({ apiVersion: current.apiVersion ?? (d.body.apiVersion as string), kind: d.kind, metadata: { name: d.name, namespace: d.namespace ?? undefined } }, undefined, undefined, undefined, undefined, undefined, { preconditions }));
    } catch (err) {
      if (!hasStatus(err, 404) && !hasStatus(err, 409)) throw err;
    }
  }

  /** Removes Cairn's LimitRange from a namespace whose team no longer has bounds (one Cairn did not make is left alone). */
  async removeLimitRange(namespace: string): Promise<Outcome | null> {
    const d = { kind: "LimitRange" as const, name: LIMITS_NAME, namespace, body: { apiVersion: "v1", metadata: { name: LIMITS_NAME, labels: {} } } };
    const current = await this.read({ ...d, owned: [] });
    if (!current || current.metadata?.labels?.[MANAGED_BY] !== "cairn") return null;
    await this.remove(d, current);
    return { kind: "LimitRange", name: LIMITS_NAME, action: "deleted", differences: ["no limit range is set for the team"] };
  }

  /** The team ResourceQuota's status as the quota controller last wrote it (null before it has). */
  async quotaStatus(namespace: string): Promise<QuotaStatus | null> {
    const d = { kind: "ResourceQuota" as const, name: QUOTA_NAME, namespace, owned: [], body: { apiVersion: "v1", metadata: { name: QUOTA_NAME, labels: {} } } };
    const current = await this.read(d);
    const status = current?.status as { hard?: Record<string, string>; used?: Record<string, string> } | undefined;
    // hard from the spec just written (the quota controller copies it into status a moment later).
    const hard = (current?.spec as { hard?: Record<string, string> } | undefined)?.hard ?? status?.hard ?? {};
    return status?.used ? { hard, used: status.used } : null;
  }
}
