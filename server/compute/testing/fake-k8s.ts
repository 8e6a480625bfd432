// An in-test Kubernetes API server (test double only): it answers the REST paths the kubernetes
// executor uses the way a real API server does (Status objects, 201/404/409/410/422, list
// resourceVersions, newline-delimited watch streams with bookmarks, pod log streaming, field and label
// selectors) and validates every object it is sent against the official schemas (kubernetes-models).
// The job controller, quota admission and the pods' lives are in fake-k8s-controller.ts.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { JobController } from "./fake-k8s-controller";
import type { KObject } from "./fake-k8s-types";
import { RESOURCES, resourceFor, selectorMatches, send, sendStatus, validateObject } from "./fake-k8s-types";

export type { KObject } from "./fake-k8s-types";

type Watcher = { plural: string; namespace: string | null; labels: string | null; fields: string | null; bookmarks: boolean; res: http.ServerResponse };
type HistoryEntry = { rv: number; plural: string; type: "ADDED" | "MODIFIED" | "DELETED"; object: KObject };
export type RecordedRequest = { method: string; path: string; query: Record<string, string>; body?: unknown };
/** A planned refusal: the next matching request(s) get this Status instead of an answer (RBAC, webhooks, outages). */
export type Fault = { method?: string; plural?: string; name?: string; code: number; reason: string; message: string; times?: number; onFire?: () => void };

const TOKEN = "fake-cluster-token";

export class FakeCluster {
  readonly requests: RecordedRequest[] = [];
  readonly controller: JobController;
  private readonly store = new Map<string, Map<string, KObject>>();
  private readonly history: HistoryEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  private compactedBelow = 0;
  private server: http.Server | null = null;
  private port = 0;
  private readonly faults: Fault[] = [];
  /** Whether Kueue's CRDs are installed (its API group is served). */
  kueue = false;
  /** metrics-server: when set, metrics.k8s.io is served, with this usage per pod name (pods not in it are not measured yet). */
  podMetrics: Map<string, { cpu: string; memory: string }> | null = null;

  constructor() {
    this.controller = new JobController(this);
  }

  async listen(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    this.controller.closeLogs();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A KubeConfig pointing at this server (plain HTTP, so skipTLSVerify), with a bearer token. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: "cairn", token: TOKEN }],
      contexts: [{ name: "fake", cluster: "fake", user: "cairn" }],
      currentContext: "fake",
    });
    return kc;
  }

  // ---- storage (used by the controller and the tests) ------------------------------------------

  private bucket(plural: string): Map<string, KObject> {
    let b = this.store.get(plural);
    if (!b) this.store.set(plural, (b = new Map()));
    return b;
  }

  get(plural: string, namespace: string | null, name: string): KObject | undefined {
    return this.bucket(plural).get(`${namespace ?? ""}/${name}`);
  }

  list(plural: string, namespace: string | null): KObject[] {
    return [...this.bucket(plural).values()].filter((o) => namespace === null || o.metadata.namespace === namespace);
  }

  /** Stores a new object (already validated and defaulted) and tells the watches. */
  insert(plural: string, obj: KObject): KObject {
    const r = RESOURCES[plural]!;
    obj.apiVersion = r.apiVersion;
    obj.kind = r.kind;
    obj.metadata.uid ??= randomUUID();
    obj.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, "Z");
    obj.metadata.resourceVersion = String(++this.rv);
    this.bucket(plural).set(`${obj.metadata.namespace ?? ""}/${obj.metadata.name}`, obj);
    this.emit(plural, "ADDED", obj);
    if (plural === "pods") this.controller.refreshQuotas(obj.metadata.namespace!);
    return obj;
  }

  /** Writes a changed object (status updates by the controller, replaces by clients). */
  update(plural: string, obj: KObject): KObject {
    obj.metadata.resourceVersion = String(++this.rv);
    this.bucket(plural).set(`${obj.metadata.namespace ?? ""}/${obj.metadata.name}`, obj);
    this.emit(plural, "MODIFIED", obj);
    if (plural === "pods") this.controller.refreshQuotas(obj.metadata.namespace!);
    return obj;
  }

  remove(plural: string, obj: KObject): void {
    if (!this.bucket(plural).delete(`${obj.metadata.namespace ?? ""}/${obj.metadata.name}`)) return;
    obj.metadata.resourceVersion = String(++this.rv);
    this.emit(plural, "DELETED", obj);
    if (plural === "pods") this.controller.refreshQuotas(obj.metadata.namespace!);
    this.controller.removed(plural, obj);
  }

  /** Makes the next matching request(s) fail with the given Status (see Fault). */
  fail(fault: Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  private takeFault(method: string, plural: string, name: string | null): Fault | null {
    const i = this.faults.findIndex((f) => (!f.method || f.method === method) && (!f.plural || f.plural === plural) && (!f.name || f.name === name));
    if (i < 0) return null;
    const f = this.faults[i]!;
    if (--f.times! <= 0) this.faults.splice(i, 1);
    return f;
  }

  createNamespace(name: string): void {
    if (!this.get("namespaces", null, name)) this.insert("namespaces", { metadata: { name }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
  }

  // ---- watches ----------------------------------------------------------------------------------

  private emit(plural: string, type: HistoryEntry["type"], obj: KObject): void {
    const snapshot = structuredClone(obj);
    this.history.push({ rv: this.rv, plural, type, object: snapshot });
    for (const w of this.watchers) if (this.matches(w, plural, snapshot)) write(w.res, { type, object: snapshot });
  }

  private matches(w: Watcher, plural: string, obj: KObject): boolean {
    return w.plural === plural && (w.namespace === null || obj.metadata.namespace === w.namespace) && selectorMatches(obj, w.labels, w.fields);
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that asked for bookmarks. */
  bookmark(): string {
    const rv = String(this.rv);
    for (const w of this.watchers) {
      const r = RESOURCES[w.plural]!;
      if (w.bookmarks) write(w.res, { type: "BOOKMARK", object: { kind: r.kind, apiVersion: r.apiVersion, metadata: { resourceVersion: rv } } });
    }
    return rv;
  }

  /**
   * Ends every open watch: with `errorEvent`, first the ERROR event (410 Expired) a real server sends
   * when a watch falls too far behind; otherwise a plain close (a server-side timeout). With `compact`
   * the history is forgotten too (an etcd compaction), so resuming from an older resourceVersion
   * answers 410 Gone and only a fresh list (and watch from its resourceVersion) works.
   */
  dropWatches(opts: { errorEvent?: boolean; compact?: boolean } = {}): void {
    if (opts.compact) {
      this.compactedBelow = this.rv;
      this.history.length = 0;
    }
    for (const w of this.watchers) {
      if (opts.errorEvent) write(w.res, { type: "ERROR", object: gone(this.rv) });
      w.res.end();
    }
    this.watchers.clear();
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return sendStatus(res, 400, "BadRequest", "the body of the request was in an unknown format");
    }
    this.requests.push({ method: req.method ?? "GET", path: url.pathname, query, ...(body !== undefined ? { body } : {}) });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return sendStatus(res, 401, "Unauthorized", "Unauthorized");
    if (req.method === "GET" && url.pathname === "/apis") return send(res, 200, this.groupList());
    const version = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))\/?$/.exec(url.pathname);
    if (req.method === "GET" && version) {
      const gv = version[1] ?? version[2]!;
      const served = Object.values(RESOURCES).filter((r) => r.apiVersion === gv && (r.group !== "kueue.x-k8s.io" || this.kueue));
      if (!served.length) return sendStatus(res, 404, "NotFound", "the server could not find the requested resource");
      return send(res, 200, {
        kind: "APIResourceList", apiVersion: "v1", groupVersion: gv,
        resources: served.map((r) => ({ name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.plural !== "namespaces", kind: r.kind, verbs: ["create", "delete", "get", "list", "patch", "update", "watch"] })),
      });
    }
    const group = /^\/apis\/([^/]+)\/?$/.exec(url.pathname);
    if (req.method === "GET" && group) {
      const found = this.groupList().groups.find((g) => g.name === group[1]);
      return found ? send(res, 200, { kind: "APIGroup", apiVersion: "v1", ...found }) : sendStatus(res, 404, "NotFound", "the server could not find the requested resource");
    }
    const metrics = /^\/apis\/metrics\.k8s\.io\/v1beta1\/namespaces\/([^/]+)\/pods\/?$/.exec(url.pathname);
    if (req.method === "GET" && metrics) return this.servePodMetrics(res, metrics[1]!, query.labelSelector ?? null);
    const route = parsePath(url.pathname);
    if (!route || (route.plural === "localqueues" && !this.kueue)) return sendStatus(res, 404, "NotFound", "the server could not find the requested resource");
    const r = RESOURCES[route.plural]!;
    const { namespace, name } = route;
    const fault = this.takeFault(req.method ?? "GET", route.plural, name);
    if (fault) {
      fault.onFire?.();
      return sendStatus(res, fault.code, fault.reason, fault.message, { name: name ?? undefined, group: r.group, kind: r.plural });
    }
    if (route.sub === "log") return this.controller.serveLog(res, namespace!, name!, query);
    switch (req.method) {
      case "GET":
        if (name) {
          const obj = this.get(route.plural, namespace, name);
          return obj ? send(res, 200, obj) : sendStatus(res, 404, "NotFound", `${r.gr} "${name}" not found`, { name, group: r.group, kind: r.plural });
        }
        if (query.watch === "true" || query.watch === "1") return this.watch(res, route.plural, namespace, query);
        return send(res, 200, {
          kind: `${r.kind}List`, apiVersion: r.apiVersion, metadata: { resourceVersion: String(this.rv) },
          items: this.list(route.plural, namespace).filter((o) => selectorMatches(o, query.labelSelector ?? null, query.fieldSelector ?? null)).map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
        });
      case "POST":
        return this.create(res, route.plural, namespace, body);
      case "PUT":
        return this.replace(res, route.plural, namespace, name ?? "", body);
      case "DELETE":
        return this.delete(res, route.plural, namespace, name ?? "", query, body);
      default:
        return sendStatus(res, 405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    }
  }

  /** PodMetricsList as metrics-server answers it: the selected pods that have been measured, per container. */
  private servePodMetrics(res: http.ServerResponse, namespace: string, labels: string | null): void {
    if (!this.podMetrics) return sendStatus(res, 404, "NotFound", "the server could not find the requested resource");
    const usage = this.podMetrics;
    const items = this.list("pods", namespace).filter((p) => selectorMatches(p, labels, null)).flatMap((p) => {
      const u = usage.get(p.metadata.name);
      const containers = ((p as { spec?: { containers?: { name: string }[] } }).spec?.containers ?? []).map((c) => ({ name: c.name, usage: u }));
      return u ? [{ metadata: { name: p.metadata.name, namespace }, timestamp: new Date().toISOString(), window: "15s", containers }] : [];
    });
    send(res, 200, { kind: "PodMetricsList", apiVersion: "metrics.k8s.io/v1beta1", metadata: {}, items });
  }

  private groupList(): { kind: string; apiVersion: string; groups: { name: string; versions: { groupVersion: string; version: string }[]; preferredVersion: { groupVersion: string; version: string } }[] } {
    const versions = new Map<string, string>();
    for (const r of Object.values(RESOURCES)) if (r.group && (r.group !== "kueue.x-k8s.io" || this.kueue)) versions.set(r.group, r.apiVersion);
    if (this.podMetrics) versions.set("metrics.k8s.io", "metrics.k8s.io/v1beta1");
    return {
      kind: "APIGroupList", apiVersion: "v1",
      groups: [...versions].map(([name, gv]) => {
        const v = { groupVersion: gv, version: gv.split("/")[1]! };
        return { name, versions: [v], preferredVersion: v };
      }),
    };
  }

  private create(res: http.ServerResponse, plural: string, namespace: string | null, body: unknown): void {
    const r = RESOURCES[plural]!;
    const obj = body as KObject;
    if (!obj || typeof obj !== "object" || obj.kind !== r.kind || obj.apiVersion !== r.apiVersion) {
      return sendStatus(res, 400, "BadRequest", `the API version in the data (${obj?.apiVersion}) does not match the expected API version (${r.apiVersion})`);
    }
    obj.metadata ??= { name: "" };
    if (namespace && obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      return sendStatus(res, 400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    }
    if (namespace && !this.get("namespaces", null, namespace)) return sendStatus(res, 404, "NotFound", `namespaces "${namespace}" not found`, { name: namespace, kind: "namespaces" });
    if (namespace) obj.metadata.namespace = namespace;
    const problems = validateObject(plural, obj);
    if (problems.length) return invalid(res, r, obj.metadata.name, problems);
    if (this.get(plural, namespace, obj.metadata.name)) {
      return sendStatus(res, 409, "AlreadyExists", `${r.gr} "${obj.metadata.name}" already exists`, { name: obj.metadata.name, group: r.group, kind: r.plural });
    }
    delete obj.status;
    const created = this.insert(plural, this.controller.defaults(plural, obj));
    send(res, 201, created);
    this.controller.created(plural, created);
  }

  private replace(res: http.ServerResponse, plural: string, namespace: string | null, name: string, body: unknown): void {
    const r = RESOURCES[plural]!;
    const current = this.get(plural, namespace, name);
    if (!current) return sendStatus(res, 404, "NotFound", `${r.gr} "${name}" not found`, { name, group: r.group, kind: r.plural });
    const obj = body as KObject;
    if (obj?.metadata?.name !== name) return sendStatus(res, 400, "BadRequest", "the name of the object does not match the name on the URL");
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current.metadata.resourceVersion) {
      return sendStatus(res, 409, "Conflict", `Operation cannot be fulfilled on ${r.gr} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: r.group, kind: r.plural });
    }
    obj.metadata.namespace = namespace ?? undefined;
    const problems = validateObject(plural, obj);
    if (plural === "rolebindings" && JSON.stringify(obj.roleRef) !== JSON.stringify(current.roleRef)) {
      problems.push({ field: "roleRef", message: `Invalid value: ${JSON.stringify(obj.roleRef)}: cannot change roleRef` });
    }
    const queueOf = (o: KObject) => (o.spec as { clusterQueue?: string } | undefined)?.clusterQueue;
    if (plural === "localqueues" && queueOf(obj) !== queueOf(current)) {
      problems.push({ field: "spec.clusterQueue", message: "Invalid value: \"string\": field is immutable" });
    }
    if (problems.length) return invalid(res, r, name, problems);
    obj.metadata.uid = current.metadata.uid;
    obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
    obj.status = current.status;
    const updated = this.update(plural, this.controller.defaults(plural, obj));
    send(res, 200, updated);
    this.controller.changed(plural, updated);
  }

  private delete(res: http.ServerResponse, plural: string, namespace: string | null, name: string, query: Record<string, string>, body?: unknown): void {
    const r = RESOURCES[plural]!;
    const obj = this.get(plural, namespace, name);
    if (!obj) return sendStatus(res, 404, "NotFound", `${r.gr} "${name}" not found`, { name, group: r.group, kind: r.plural });
    const pre = (body as { preconditions?: { uid?: string; resourceVersion?: string } } | undefined)?.preconditions;
    if ((pre?.uid && pre.uid !== obj.metadata.uid) || (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion)) {
      return sendStatus(res, 409, "Conflict", `Operation cannot be fulfilled on ${r.gr} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`, { name, group: r.group, kind: r.plural });
    }
    const policy = query.propagationPolicy ?? "Background";
    this.remove(plural, obj);
    if (policy === "Orphan") {
      for (const dep of this.dependents(obj.metadata.uid!)) dep.metadata.ownerReferences = dep.metadata.ownerReferences?.filter((o) => o.uid !== obj.metadata.uid);
    } else {
      // The garbage collector removes the dependents after the owner (Background) — here on the next turn.
      setImmediate(() => this.collect(obj.metadata.uid!));
    }
    send(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group: r.group, kind: r.plural, uid: obj.metadata.uid } });
  }

  private dependents(uid: string): { plural: string; obj: KObject; metadata: KObject["metadata"] }[] {
    const out: { plural: string; obj: KObject; metadata: KObject["metadata"] }[] = [];
    for (const [plural, bucket] of this.store) {
      for (const obj of bucket.values()) if (obj.metadata.ownerReferences?.some((o) => o.uid === uid)) out.push({ plural, obj, metadata: obj.metadata });
    }
    return out;
  }

  private collect(uid: string): void {
    for (const dep of this.dependents(uid)) {
      this.remove(dep.plural, dep.obj);
      this.collect(dep.obj.metadata.uid!);
    }
  }

  private watch(res: http.ServerResponse, plural: string, namespace: string | null, query: Record<string, string>): void {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    const w: Watcher = { plural, namespace, labels: query.labelSelector ?? null, fields: query.fieldSelector ?? null, bookmarks: query.allowWatchBookmarks === "true", res };
    const from = query.resourceVersion;
    if (!from || from === "0") {
      for (const obj of this.list(plural, namespace)) if (this.matches(w, plural, obj)) write(res, { type: "ADDED", object: obj });
    } else if (Number(from) < this.compactedBelow) {
      write(res, { type: "ERROR", object: gone(Number(from)) });
      res.end();
      return;
    } else {
      for (const h of this.history) if (h.rv > Number(from) && this.matches(w, h.plural, h.object)) write(res, { type: h.type, object: h.object });
    }
    this.watchers.add(w);
    res.on("close", () => this.watchers.delete(w));
  }
}

function gone(rv: number): KObject {
  return { kind: "Status", apiVersion: "v1", metadata: { name: "" }, status: "Failure", message: `too old resource version: ${rv} (${rv + 1})`, reason: "Expired", code: 410 } as unknown as KObject;
}

function parsePath(p: string): { plural: string; namespace: string | null; name: string | null; sub: string | null } | null {
  const core = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?([a-z]+)(?:\/([^/]+))?(?:\/(log))?$/.exec(p);
  const grouped = /^\/apis\/([^/]+)\/([^/]+)\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?$/.exec(p);
  if (grouped) {
    const r = resourceFor(grouped[4]!);
    if (!r || r.apiVersion !== `${grouped[1]}/${grouped[2]}`) return null;
    return { plural: r.plural, namespace: grouped[3]!, name: grouped[5] ?? null, sub: null };
  }
  const m = core;
  if (!m) return null;
  // "/api/v1/namespaces/foo" names a namespace, not a namespaced collection.
  if (!m[1] && m[2] === "namespaces") return { plural: "namespaces", namespace: null, name: m[3] ?? null, sub: null };
  if (m[2] === "namespaces") return null;
  const plural = m[2]!;
  const r = resourceFor(plural);
  if (!r || r.group !== "" || (m[4] && plural !== "pods")) return null;
  return { plural, namespace: m[1] ?? null, name: m[3] ?? null, sub: m[4] ?? null };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => resolve(data));
  });
}

function write(res: http.ServerResponse, event: unknown): void {
  if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
}

function invalid(res: http.ServerResponse, r: (typeof RESOURCES)[string], name: string, causes: { field: string; message: string }[]): void {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
  sendStatus(res, 422, "Invalid", `${r.kind} "${name}" is invalid: ${text}`, {
    name, group: r.group, kind: r.kind, causes: causes.map((c) => ({ reason: "FieldValueInvalid", message: c.message, field: c.field })),
  });
}
