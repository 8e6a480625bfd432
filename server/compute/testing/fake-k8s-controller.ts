// The fake cluster's controllers, driven by the test the way the real ones act: the job controller
// makes a pod from each Job's template (unless a ResourceQuota refuses it: then a FailedCreate Event on
// the Job, and a retry when the quota or usage changes), pods go Running → Succeeded/Failed with their
// output served by the log API, and the Job's status and conditions follow (SuccessCriteriaMet →
// Complete, FailureTarget → Failed). Deadlines and Kueue admission are tested on the local cluster only (the cluster suite).
import { randomBytes, randomUUID } from "node:crypto";
import type http from "node:http";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IPod } from "kubernetes-models/v1/Pod";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { FakeCluster } from "./fake-k8s";
import type { KObject } from "./fake-k8s-types";
import { quantity, sendStatus, validateObject } from "./fake-k8s-types";

type Line = { stamp: string; text: string };
type Follower = { res: http.ServerResponse; timestamps: boolean };

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const asJob = (o: KObject) => o as unknown as IJob & KObject;
const asPod = (o: KObject) => o as unknown as IPod & KObject;

let nanoClock = 0n;
/** RFC3339Nano as the kubelet writes it (UTC, trailing zeros of the fraction trimmed), always increasing. */
function nanoStamp(): string {
  nanoClock = [BigInt(Date.now()) * 1_000_000n, nanoClock + 1n].reduce((a, b) => (a > b ? a : b));
  const seconds = new Date(Number(nanoClock / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  const fraction = String(nanoClock % 1_000_000_000n).padStart(9, "0").replace(/0+$/, "");
  return `${seconds}${fraction ? `.${fraction}` : ""}Z`;
}

function podRequests(pod: IPod): Record<string, number> {
  // Effective requests: the larger of the sum over containers and any one init container.
  const sum = (cs: IContainer[], kind: "requests" | "limits") => {
    const out: Record<string, number> = {};
    for (const c of cs) for (const [k, v] of Object.entries(c.resources?.[kind] ?? {})) out[k] = (out[k] ?? 0) + quantity(v);
    return out;
  };
  const total: Record<string, number> = {};
  for (const kind of ["requests", "limits"] as const) {
    const main = sum(pod.spec?.containers ?? [], kind);
    for (const init of pod.spec?.initContainers ?? []) for (const [k, v] of Object.entries(sum([init], kind))) main[k] = Math.max(main[k] ?? 0, v);
    for (const [k, v] of Object.entries(main)) {
      total[`${kind}.${k}`] = v;
      if (kind === "requests" && (k === "cpu" || k === "memory")) total[k] = v;
    }
  }
  total.pods = 1;
  return total;
}

function pretty(key: string, n: number): string {
  if (key.endsWith("memory")) return n % 2 ** 30 === 0 ? `${n / 2 ** 30}Gi` : `${Math.round(n / 2 ** 20)}Mi`;
  if (key.endsWith("cpu") && !Number.isInteger(n)) return `${Math.round(n * 1000)}m`;
  return String(n);
}

export class JobController {
  private readonly logs = new Map<string, Line[]>();
  private readonly followers = new Map<string, Set<Follower>>();

  constructor(private readonly cluster: FakeCluster) {}

  /** API-server defaulting on create/replace. */
  defaults(plural: string, obj: KObject): KObject {
    if (plural === "limitranges") {
      // SetDefaults_LimitRangeItem: a missing default limit from max, then a missing default request from the default limit, then from min.
      type Item = { type?: string } & Partial<Record<"min" | "max" | "default" | "defaultRequest", Record<string, string>>>;
      for (const item of ((obj.spec as { limits?: Item[] } | undefined)?.limits ?? [])) {
        if (item.type !== "Container") continue;
        const limit = (item.default ??= {}), request = (item.defaultRequest ??= {});
        for (const [k, v] of Object.entries(item.max ?? {})) limit[k] ??= v;
        for (const [k, v] of Object.entries(limit)) request[k] ??= v;
        for (const [k, v] of Object.entries(item.min ?? {})) request[k] ??= v;
        if (!Object.keys(limit).length) delete item.default;
        if (!Object.keys(request).length) delete item.defaultRequest;
      }
    }
    if (plural === "localqueues") {
      // Kueue's CRD schema defaults stopPolicy.
      (obj.spec as Record<string, unknown>).stopPolicy ??= "None";
    }
    if (plural === "secrets" && obj.stringData) {
      const data = (obj.data ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(obj.stringData as Record<string, string>)) data[k] = Buffer.from(v).toString("base64");
      obj.data = data;
      delete obj.stringData;
    }
    if (plural === "jobs") {
      const job = asJob(obj);
      obj.metadata.generation = 1;
      const uid = (obj.metadata.uid ??= randomUUID());
      const spec = job.spec!;
      spec.completions ??= 1;
      spec.parallelism ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= "NonIndexed";
      spec.suspend ??= false;
      spec.podReplacementPolicy ??= "TerminatingOrFailed";
      const own = { "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": obj.metadata.name, "controller-uid": uid, "job-name": obj.metadata.name };
      spec.selector ??= { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
      spec.template.metadata = { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, ...own } };
      job.status ??= {};
    }
    return obj;
  }

  created(plural: string, obj: KObject): void {
    if (plural === "jobs") this.sync(asJob(obj));
    if (plural === "resourcequotas") {
      this.refreshQuotas(obj.metadata.namespace!);
      this.syncAll(obj.metadata.namespace!);
    }
  }

  /** A client replaced an object. */
  changed(plural: string, obj: KObject): void {
    this.created(plural, obj);
  }

  /**
   * The quota controller: status.hard mirrors spec.hard and status.used sums what the namespace's live
   * pods request (for each key of hard), written only when it changes.
   */
  refreshQuotas(namespace: string): void {
    const live = this.cluster.list("pods", namespace).map(asPod).filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
    const used: Record<string, number> = {};
    for (const p of live) for (const [k, v] of Object.entries(podRequests(p))) used[k] = (used[k] ?? 0) + v;
    for (const q of this.cluster.list("resourcequotas", namespace)) {
      const hard = (q.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {};
      const status = { hard: { ...hard }, used: Object.fromEntries(Object.keys(hard).map((k) => [k, pretty(k, used[k] ?? 0)])) };
      if (JSON.stringify(status) !== JSON.stringify(q.status)) {
        q.status = status;
        this.cluster.update("resourcequotas", q);
      }
    }
  }

  removed(plural: string, obj: KObject): void {
    if (plural !== "pods") return;
    this.endLogs(obj.metadata.namespace!, obj.metadata.name);
    this.syncAll(obj.metadata.namespace!);
  }

  // ---- the job controller ----------------------------------------------------------------------

  private syncAll(namespace: string): void {
    for (const job of this.cluster.list("jobs", namespace)) this.sync(asJob(job));
  }

  private finished(job: IJob): boolean {
    return (job.status?.conditions ?? []).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
  }

  podsOf(namespace: string, jobName: string): (IPod & KObject)[] {
    return this.cluster.list("pods", namespace).filter((p) => p.metadata.labels?.["batch.kubernetes.io/job-name"] === jobName).map(asPod);
  }

  private sync(job: IJob & KObject): void {
    if (this.finished(job) || job.spec?.suspend) return;
    if (this.podsOf(job.metadata.namespace!, job.metadata.name).length > 0) return;
    const name = `${job.metadata.name}-${randomBytes(4).toString("hex").replace(/[^a-z0-9]/g, "").slice(0, 5)}`;
    const tpl = job.spec!.template;
    const containers = (cs: IContainer[] | undefined) => (cs ?? []).map((c) => ({ name: c.name, image: c.image, imageID: "", ready: false, restartCount: 0, started: false, state: { waiting: { reason: "PodInitializing" } } }));
    const pod = {
      apiVersion: "v1", kind: "Pod",
      metadata: {
        name, namespace: job.metadata.namespace, labels: { ...tpl.metadata?.labels },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, uid: job.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(tpl.spec),
      status: { phase: "Pending", initContainerStatuses: containers(tpl.spec?.initContainers), containerStatuses: containers(tpl.spec?.containers) },
    } as unknown as KObject;
    const invalid = validateObject("pods", pod);
    if (invalid.length) throw new Error(`the job controller made an invalid pod: ${JSON.stringify(invalid)}`);
    const refusal = this.admit(job.metadata.namespace!, pod as unknown as IPod);
    if (refusal) {
      this.event(job, "FailedCreate", `Error creating: ${refusal}`);
      return;
    }
    this.cluster.insert("pods", pod);
    this.setJobStatus(job, { active: 1, ready: 0, startTime: job.status?.startTime ?? now() });
    this.event(job, "SuccessfulCreate", `Created pod: ${name}`, "Normal");
  }

  /** ResourceQuota admission: null when every quota in the namespace has room for the pod. */
  private admit(namespace: string, pod: IPod): string | null {
    const wants = podRequests(pod);
    const live = this.cluster.list("pods", namespace).map(asPod).filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
    for (const q of this.cluster.list("resourcequotas", namespace)) {
      const hard = ((q.spec as { hard?: Record<string, string> })?.hard ?? {});
      const missing = Object.keys(hard).filter((k) => /^(requests|limits)\.(cpu|memory)$/.test(k)).filter((k) => {
        const [kind, res] = k.split(".") as ["requests" | "limits", string];
        return (pod.spec?.containers ?? []).some((c) => c.resources?.[kind]?.[res] === undefined);
      });
      if (missing.length) return `pods "${pod.metadata!.name}" is forbidden: failed quota: ${q.metadata.name}: must specify ${missing.sort().join(",")}`;
      const used: Record<string, number> = {};
      for (const p of live) for (const [k, v] of Object.entries(podRequests(p))) used[k] = (used[k] ?? 0) + v;
      const over = Object.keys(hard).filter((k) => (wants[k] ?? 0) > 0 && (used[k] ?? 0) + wants[k]! > quantity(hard[k])).sort();
      if (over.length) {
        const list = (src: Record<string, number>) => over.map((k) => `${k}=${pretty(k, src[k] ?? 0)}`).join(",");
        return `pods "${pod.metadata!.name}" is forbidden: exceeded quota: ${q.metadata.name}, requested: ${list(wants)}, used: ${list(used)}, limited: ${over.map((k) => `${k}=${hard[k]}`).join(",")}`;
      }
    }
    return null;
  }

  private event(job: IJob & KObject, reason: string, message: string, type = "Warning"): void {
    const ns = job.metadata.namespace!;
    const same = this.cluster.list("events", ns).find((e) => (e.involvedObject as { uid?: string })?.uid === job.metadata.uid && e.reason === reason && e.message === message);
    if (same) {
      same.count = Number(same.count ?? 1) + 1;
      same.lastTimestamp = now();
      this.cluster.update("events", same);
      return;
    }
    this.cluster.insert("events", {
      metadata: { name: `${job.metadata.name}.${randomBytes(8).toString("hex")}`, namespace: ns },
      involvedObject: { apiVersion: "batch/v1", kind: "Job", namespace: ns, name: job.metadata.name, uid: job.metadata.uid, resourceVersion: job.metadata.resourceVersion },
      reason, message, type, count: 1, firstTimestamp: now(), lastTimestamp: now(),
      source: { component: "job-controller" }, reportingComponent: "job-controller", reportingInstance: "",
    });
  }

  private setJobStatus(job: IJob & KObject, status: Partial<NonNullable<IJob["status"]>>): void {
    const current = this.cluster.get("jobs", job.metadata.namespace!, job.metadata.name);
    if (!current) return;
    const j = asJob(current);
    j.status = { ...j.status, ...status };
    this.cluster.update("jobs", current);
  }

  private addCondition(job: IJob & KObject, type: string, reason: string, message: string): void {
    const current = this.cluster.get("jobs", job.metadata.namespace!, job.metadata.name);
    if (!current) return;
    const j = asJob(current);
    const at = now();
    j.status = { ...j.status, conditions: [...(j.status?.conditions ?? []), { type, status: "True", reason, message, lastProbeTime: at, lastTransitionTime: at }] };
    if (type === "Complete") j.status.completionTime = at;
    this.cluster.update("jobs", current);
  }

  // ---- what the test drives --------------------------------------------------------------------

  private pod(namespace: string, name: string): IPod & KObject {
    const p = this.cluster.get("pods", namespace, name);
    if (!p) throw new Error(`no pod ${namespace}/${name}`);
    return asPod(p);
  }

  /** Init containers done, the main container running. */
  run(namespace: string, podName: string): void {
    const pod = this.pod(namespace, podName);
    const at = now();
    pod.status = {
      ...pod.status, phase: "Running", startTime: at,
      initContainerStatuses: (pod.status?.initContainerStatuses ?? []).map((c) => ({ ...c, ready: true, started: false, state: { terminated: { exitCode: 0, reason: "Completed", startedAt: at, finishedAt: at } } })),
      containerStatuses: (pod.status?.containerStatuses ?? []).map((c) => ({ ...c, ready: true, started: true, state: { running: { startedAt: at } } })),
    };
    this.cluster.update("pods", pod);
    const job = this.ownerJob(pod);
    if (job) this.setJobStatus(job, { ready: 1 });
  }

  /** A container that cannot start (e.g. ImagePullBackOff): the pod stays Pending with the reason. */
  wait(namespace: string, podName: string, reason: string, message: string): void {
    const pod = this.pod(namespace, podName);
    pod.status = { ...pod.status, containerStatuses: (pod.status?.containerStatuses ?? []).map((c) => ({ ...c, state: { waiting: { reason, message } } })) };
    this.cluster.update("pods", pod);
  }

  /** The main container prints `text` (one log line per line). */
  print(namespace: string, podName: string, text: string): void {
    const key = `${namespace}/${podName}`;
    const lines = this.logs.get(key) ?? [];
    this.logs.set(key, lines);
    for (const t of text.split("\n")) {
      const line = { stamp: nanoStamp(), text: t };
      lines.push(line);
      for (const f of this.followers.get(key) ?? []) f.res.write(f.timestamps ? `${line.stamp} ${line.text}\n` : `${line.text}\n`);
    }
  }

  /** The main container exits; the Job completes (exit 0) or fails (backoffLimit 0). `reason`: the kubelet's, e.g. "OOMKilled". */
  exit(namespace: string, podName: string, exitCode: number, reason?: string): void {
    const pod = this.pod(namespace, podName);
    const at = now();
    const startedAt = pod.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? at;
    pod.status = {
      ...pod.status, phase: exitCode === 0 ? "Succeeded" : "Failed",
      containerStatuses: (pod.status?.containerStatuses ?? []).map((c) => ({ ...c, ready: false, started: false, state: { terminated: { exitCode, reason: reason ?? (exitCode === 0 ? "Completed" : "Error"), startedAt, finishedAt: at } } })),
    };
    this.cluster.update("pods", pod);
    this.endLogs(namespace, podName);
    const job = this.ownerJob(pod);
    if (!job) return;
    if (exitCode === 0) {
      this.setJobStatus(job, { active: 0, ready: 0, succeeded: 1 });
      this.addCondition(job, "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods");
      this.addCondition(job, "Complete", "CompletionsReached", "Reached expected number of succeeded pods");
    } else {
      this.setJobStatus(job, { active: 0, ready: 0, failed: 1 });
      this.addCondition(job, "FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
      this.addCondition(job, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
    }
    this.syncAll(namespace);
  }

  private ownerJob(pod: IPod & KObject): (IJob & KObject) | null {
    const owner = pod.metadata.ownerReferences?.find((o) => o.kind === "Job");
    const job = owner && this.cluster.get("jobs", pod.metadata.namespace!, owner.name);
    return job ? asJob(job) : null;
  }

  // ---- the pod log API ----------------------------------------------------------------------------

  serveLog(res: http.ServerResponse, namespace: string, podName: string, query: Record<string, string>): void {
    const obj = this.cluster.get("pods", namespace, podName);
    if (!obj) return sendStatus(res, 404, "NotFound", `pods "${podName}" not found`, { name: podName, kind: "pods" });
    const pod = asPod(obj);
    const containers = pod.spec?.containers ?? [];
    const name = query.container ?? (containers.length === 1 ? containers[0]!.name : undefined);
    if (!name) return sendStatus(res, 400, "BadRequest", `a container name must be specified for pod ${podName}, choose one of: [${containers.map((c) => c.name).join(" ")}]`);
    const status = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((c) => c.name === name);
    if (!status) return sendStatus(res, 400, "BadRequest", `container ${name} is not valid for pod ${podName}`);
    if (!status.state?.running && !status.state?.terminated) {
      return sendStatus(res, 400, "BadRequest", `container "${name}" in pod "${podName}" is waiting to start: ${status.state?.waiting?.reason ?? "ContainerCreating"}`);
    }
    const timestamps = query.timestamps === "true";
    // sinceTime is a metav1.Time: whole seconds.
    const since = query.sinceTime ? query.sinceTime.replace(/\.\d+Z$/, "Z").slice(0, 19) : null;
    res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
    const key = `${namespace}/${podName}`;
    for (const line of this.logs.get(key) ?? []) {
      if (since && line.stamp.slice(0, 19) < since) continue;
      res.write(timestamps ? `${line.stamp} ${line.text}\n` : `${line.text}\n`);
    }
    if (query.follow !== "true" || !status.state?.running) return void res.end();
    const follower = { res, timestamps };
    const set = this.followers.get(key) ?? new Set<Follower>();
    this.followers.set(key, set);
    set.add(follower);
    res.on("close", () => set.delete(follower));
  }

  /** Drops the open follows of a pod without its container ending (a broken connection). */
  dropLogFollows(namespace: string, podName: string): void {
    this.endLogs(namespace, podName);
  }

  private endLogs(namespace: string, podName: string): void {
    const key = `${namespace}/${podName}`;
    for (const f of this.followers.get(key) ?? []) f.res.end();
    this.followers.delete(key);
  }

  closeLogs(): void {
    for (const set of this.followers.values()) for (const f of set) f.res.end();
    this.followers.clear();
  }
}

