#!/usr/bin/env node
// `npm run cluster [-- start|stop|status|build|reset]`: a real Kubernetes control plane on 127.0.0.1.
//
// build   builds once, from the Go module proxy, and caches outside the repository: kube-apiserver,
//         kube-controller-manager and kube-scheduler (k8s.io/kubernetes, scripts/cluster/k8s/go.mod), etcd
//         (go.etcd.io/etcd/server/v3, scripts/cluster/etcd/go.mod), the KWOK controller (sigs.k8s.io/kwok,
//         scripts/cluster/kwok/go.mod) and Kueue (sigs.k8s.io/kueue, scripts/cluster/kueue/go.mod; not with
//         CAIRN_CLUSTER_KUEUE=off) into $CAIRN_CLUSTER_CACHE/<kubernetes version>/bin. A binary is rebuilt only
//         when its go.mod or go.sum (or this script's build flags) change: a stamp beside it says so.
// start   (the default) builds if needed, then starts etcd, kube-apiserver, kube-controller-manager,
//         kube-scheduler, KWOK with its nodes (a CPU pool and GPU nodes of two types) and Kueue with the
//         ClusterQueue `cairn`, waits until the API answers /readyz and every node is Ready, and prints one line.
//         Already running: it re-applies its nodes and Kueue objects and prints the kubeconfig path. State,
//         certificates, logs and pid files live in $CAIRN_CLUSTER_DIR.
// stop    stops every process it started (pid files). status: what runs. reset: stop and forget etcd's data.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const home = os.homedir();
const cacheRoot = path.resolve(process.env.CAIRN_CLUSTER_CACHE || path.join(home, ".cache", "cairn", "k8s"));
const stateDir = path.resolve(process.env.CAIRN_CLUSTER_DIR || path.join(home, ".cache", "cairn", "cluster"));
const apiPort = Number(process.env.CAIRN_CLUSTER_PORT || 16443);
if (!Number.isInteger(apiPort) || apiPort < 1024 || apiPort > 65530) fail(`CAIRN_CLUSTER_PORT must be a port from 1024 to 65530, not "${process.env.CAIRN_CLUSTER_PORT}"`);
const ports = { api: apiPort, etcd: apiPort + 1, etcdPeer: apiPort + 2, controllerManager: apiPort + 3, scheduler: apiPort + 4, kwok: apiPort + 5, kueueWebhook: apiPort + 6, kueueHealth: apiPort + 7 };
const kueueSetting = process.env.CAIRN_CLUSTER_KUEUE || "on";
if (kueueSetting !== "on" && kueueSetting !== "off") fail(`CAIRN_CLUSTER_KUEUE must be "on" or "off", not "${kueueSetting}"`);
const kueueOn = kueueSetting === "on";

const pki = path.join(stateDir, "pki");
const logs = path.join(stateDir, "logs");
const run = path.join(stateDir, "run");
const kubeconfigPath = path.join(stateDir, "kubeconfig");
const serviceCidr = "10.96.0.0/12";

// --- versions and binaries ---------------------------------------------------------------------------------

function required(module, dir) {
  const gomod = readFileSync(path.join(here, dir, "go.mod"), "utf8");
  const m = gomod.match(new RegExp(`^\\s*(?:require\\s+)?${module.replace(/[.]/g, "\\.")} (v\\S+)`, "m"));
  if (!m) fail(`scripts/cluster/${dir}/go.mod does not require ${module}`);
  return m[1];
}

const k8sVersion = required("k8s.io/kubernetes", "k8s");
const [, k8sMajor, k8sMinor] = k8sVersion.match(/^v(\d+)\.(\d+)/);
const versionPkg = "k8s.io/component-base/version";
const builds = [
  {
    name: "kubernetes", dir: "k8s", version: k8sVersion, bins: ["kube-apiserver", "kube-controller-manager", "kube-scheduler"],
    pkgs: ["k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-scheduler"],
    ldflags: `-s -w -X ${versionPkg}.gitVersion=${k8sVersion} -X ${versionPkg}.gitMajor=${k8sMajor} -X ${versionPkg}.gitMinor=${k8sMinor} -X ${versionPkg}.gitTreeState=clean`,
  },
  // The etcd main package is the root of go.etcd.io/etcd/server/v3 ("v3" would name the binary: -o names it).
  { name: "etcd", dir: "etcd", version: required("go.etcd.io/etcd/server/v3", "etcd"), bins: ["etcd"], pkgs: ["go.etcd.io/etcd/server/v3"], ldflags: "-s -w", output: "etcd" },
  { name: "kwok", dir: "kwok", version: required("sigs.k8s.io/kwok", "kwok"), bins: ["kwok"], pkgs: ["sigs.k8s.io/kwok/cmd/kwok"], ldflags: "-s -w" },
  // Kueue's manager, and beside it the CRDs and webhook configurations of the same release (copied from the
  // module, so that a start needs no module cache).
  ...(kueueOn ? [{
    name: "kueue", dir: "kueue", version: required("sigs.k8s.io/kueue", "kueue"), bins: ["kueue"], pkgs: ["sigs.k8s.io/kueue/cmd/kueue"],
    ldflags: `-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=${required("sigs.k8s.io/kueue", "kueue")}`, after: copyKueueManifests,
  }] : []),
];
const binDir = path.join(cacheRoot, k8sVersion, "bin");
const bin = (name) => path.join(binDir, name);

function stampOf(b) {
  const h = createHash("sha256");
  for (const f of ["go.mod", "go.sum"]) h.update(readFileSync(path.join(here, b.dir, f)));
  h.update(JSON.stringify([b.version, b.pkgs, b.ldflags, b.output ?? ""]));
  return `${b.name} ${b.version} ${h.digest("hex").slice(0, 16)}\n`;
}

function build() {
  mkdirSync(binDir, { recursive: true });
  let built = 0;
  for (const b of builds) {
    const stampFile = path.join(binDir, `.${b.name}.stamp`);
    const stamp = stampOf(b);
    const outputs = [...b.bins.map(bin), ...(b.after ? [path.join(kueueManifests, "crd-kustomization.yaml")] : [])];
    if (outputs.every((f) => existsSync(f)) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) continue;
    const t0 = Date.now();
    const tmp = path.join(binDir, `.build-${b.name}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    log(`building ${b.name} ${b.version} (${b.bins.join(", ")}) from the Go module proxy: the first build takes a while`);
    // One `go build` of all of a module's programs at once, niced: the machine is shared.
    const out = b.output ? path.join(tmp, b.output) : `${tmp}/`;
    const r = spawnSync("nice", ["-n", "10", "go", "build", "-trimpath", "-ldflags", b.ldflags, "-o", out, ...b.pkgs], {
      cwd: path.join(here, b.dir), stdio: "inherit", env: { ...process.env, CGO_ENABLED: "0" },
    });
    if (r.error) fail(`go build ${b.name}: ${r.error.message} (is Go on the PATH?)`);
    if (r.status !== 0) fail(`go build ${b.name} failed (exit ${r.status})`);
    for (const n of b.bins) renameSync(path.join(tmp, n), bin(n));
    rmSync(tmp, { recursive: true, force: true });
    b.after?.(b);
    writeFileSync(stampFile, stamp);
    log(`built ${b.name} in ${Math.round((Date.now() - t0) / 1000)}s`);
    built++;
  }
  return built;
}

const kueueManifests = path.join(binDir, "kueue-manifests");

function copyKueueManifests(b) {
  const r = spawnSync("go", ["list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kueue"], { cwd: path.join(here, b.dir), encoding: "utf8" });
  if (r.status !== 0) fail(`go list sigs.k8s.io/kueue: ${r.stderr}`);
  const moduleDir = r.stdout.trim();
  const tmp = `${kueueManifests}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(tmp, "crd"), { recursive: true });
  const crds = path.join(moduleDir, "config", "components", "crd", "bases");
  for (const f of readdirSync(crds)) copyFileSync(path.join(crds, f), path.join(tmp, "crd", f));
  // Its kustomization names the CRDs whose versions its webhook converts (patches/webhook_in_<plural>.yaml).
  copyFileSync(path.join(moduleDir, "config", "components", "crd", "kustomization.yaml"), path.join(tmp, "crd-kustomization.yaml"));
  copyFileSync(path.join(moduleDir, "config", "components", "webhook", "manifests.yaml"), path.join(tmp, "webhooks.yaml"));
  rmSync(kueueManifests, { recursive: true, force: true });
  renameSync(tmp, kueueManifests);
}

// --- certificates and kubeconfigs --------------------------------------------------------------------------

function openssl(...args) {
  const r = spawnSync("openssl", args, { cwd: pki, encoding: "utf8" });
  if (r.error) fail(`openssl: ${r.error.message} (is openssl installed?)`);
  if (r.status !== 0) fail(`openssl ${args[0]} failed: ${r.stderr}`);
}

function clientCert(name, cn, org) {
  if (existsSync(path.join(pki, `${name}.crt`))) return;
  openssl("genrsa", "-out", `${name}.key`, "2048");
  openssl("req", "-new", "-key", `${name}.key`, "-subj", org ? `/O=${org}/CN=${cn}` : `/CN=${cn}`, "-out", `${name}.csr`);
  writeFileSync(path.join(pki, `${name}.ext`), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3650", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`);
}

function serverCert(name, cn, san) {
  if (existsSync(path.join(pki, `${name}.crt`))) return;
  openssl("genrsa", "-out", `${name}.key`, "2048");
  openssl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`);
  writeFileSync(path.join(pki, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san.join(",")}\n`);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3650", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`);
}

function certificates() {
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  if (!existsSync(path.join(pki, "ca.crt"))) {
    openssl("genrsa", "-out", "ca.key", "2048");
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=cairn-local-cluster-ca", "-days", "3650", "-sha256", "-out", "ca.crt");
  }
  serverCert("apiserver", "kube-apiserver", ["IP:127.0.0.1", "IP:10.96.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"]);
  // Kueue's webhook server, which the API server calls on 127.0.0.1.
  serverCert("kueue-webhook", "kueue-webhook", ["IP:127.0.0.1", "DNS:localhost"]);
  if (!existsSync(path.join(pki, "sa.key"))) {
    openssl("genrsa", "-out", "sa.key", "2048");
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");
  }
  clientCert("admin", "cairn-admin", "system:masters");
  clientCert("controller-manager", "system:kube-controller-manager");
  clientCert("scheduler", "system:kube-scheduler");
  // KWOK plays every kubelet: node and pod status, leases, events. It gets the admin group, as kwokctl does.
  clientCert("kwok", "kwok-controller", "system:masters");
  // Kueue's manager, too: it manages Jobs, Workloads and its own CRDs cluster-wide.
  clientCert("kueue", "kueue-controller-manager", "system:masters");
}

function writeKubeconfig(file, user) {
  const b64 = (f) => readFileSync(path.join(pki, f)).toString("base64");
  const text = `apiVersion: v1
kind: Config
clusters:
- name: cairn-local
  cluster:
    server: https://127.0.0.1:${ports.api}
    certificate-authority-data: ${b64("ca.crt")}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(`${user}.crt`)}
    client-key-data: ${b64(`${user}.key`)}
contexts:
- name: cairn-local
  context:
    cluster: cairn-local
    user: ${user}
current-context: cairn-local
`;
  writeFileSync(file, text, { mode: 0o600 });
}

// --- processes ---------------------------------------------------------------------------------------------

const pidFile = (name) => path.join(run, `${name}.pid`);

function runningPid(name) {
  if (!existsSync(pidFile(name))) return null;
  const pid = Number(readFileSync(pidFile(name), "utf8").trim());
  try {
    // The pid must still be our binary: a pid left from before a reboot may now be someone else's.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    return cmdline === bin(name) ? pid : null;
  } catch {
    return null;
  }
}

// The components this invocation started that have since exited, with how. A child's own exit event, not
// /proc/<pid>/cmdline: just after spawn() returns, the kernel may still be setting up the new program's
// arguments, and an empty cmdline then read as "exited" (a scheduler reported dead with an empty log).
const exitedChildren = new Map();

function startProcess(name, args, env) {
  const out = openSync(path.join(logs, `${name}.log`), "a");
  const child = spawn(bin(name), args, { detached: true, stdio: ["ignore", out, out], cwd: stateDir, env: { ...process.env, ...env } });
  closeSync(out);
  writeFileSync(pidFile(name), `${child.pid}\n`);
  exitedChildren.delete(name);
  child.once("exit", (code, signal) => exitedChildren.set(name, signal ? `signal ${signal}` : `code ${code}`));
  child.unref();
  return child.pid;
}

const components = () => [
  {
    name: "etcd",
    args: [
      "--name=cairn", `--data-dir=${path.join(stateDir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${ports.etcd}`, `--advertise-client-urls=http://127.0.0.1:${ports.etcd}`,
      `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-cluster=cairn=http://127.0.0.1:${ports.etcdPeer}`,
      // A throwaway development cluster: no fsync keeps it quick on a shared disk.
      "--unsafe-no-fsync", "--log-level=warn",
    ],
    ready: () => httpOk(`http://127.0.0.1:${ports.etcd}/health`),
  },
  {
    name: "kube-apiserver",
    args: [
      `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
      "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", `--secure-port=${ports.api}`,
      `--tls-cert-file=${pki}/apiserver.crt`, `--tls-private-key-file=${pki}/apiserver.key`, `--client-ca-file=${pki}/ca.crt`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki}/sa.pub`, `--service-account-signing-key-file=${pki}/sa.key`,
      `--service-cluster-ip-range=${serviceCidr}`,
      "--authorization-mode=Node,RBAC",
      // On top of the default admission plugins, named for the reader: quota, limit ranges and service accounts.
      "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota",
      "--allow-privileged=true", "--profiling=false", "--v=0",
    ],
    ready: () => apiOk("/readyz"),
    after: ensureNodes,
  },
  {
    name: "kube-controller-manager",
    args: [
      `--kubeconfig=${path.join(stateDir, "controller-manager.kubeconfig")}`,
      "--bind-address=127.0.0.1", `--secure-port=${ports.controllerManager}`,
      `--service-account-private-key-file=${pki}/sa.key`, `--root-ca-file=${pki}/ca.crt`,
      `--cluster-signing-cert-file=${pki}/ca.crt`, `--cluster-signing-key-file=${pki}/ca.key`,
      "--use-service-account-credentials=true", `--service-cluster-ip-range=${serviceCidr}`,
      // Every default controller (service accounts and tokens, quota, Job, Deployment, ReplicaSet, HPA, garbage
      // collector, node lifecycle...) but the cloud provider's, which have no cloud here.
      "--controllers=*,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller",
      // Its default (/usr/libexec/kubernetes/...) would be created on the machine.
      `--flex-volume-plugin-dir=${path.join(stateDir, "flexvolume")}`,
      "--leader-elect=false", "--v=0",
    ],
    ready: () => httpsOk(`https://127.0.0.1:${ports.controllerManager}/healthz`),
  },
  {
    name: "kube-scheduler",
    args: [
      `--kubeconfig=${path.join(stateDir, "scheduler.kubeconfig")}`,
      "--bind-address=127.0.0.1", `--secure-port=${ports.scheduler}`, "--leader-elect=false", "--v=0",
    ],
    ready: () => httpsOk(`https://127.0.0.1:${ports.scheduler}/healthz`),
  },
  {
    name: "kwok",
    args: [
      `--kubeconfig=${path.join(stateDir, "kwok.kubeconfig")}`,
      `--config=${path.join(here, "kwok-stages.yaml")}`,
      "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      "--cidr=10.244.0.1/16", "--node-ip=10.240.0.1", "--node-lease-duration-seconds=40",
      `--server-address=127.0.0.1:${ports.kwok}`,
    ],
    // A KWOK that starts again would wait for its predecessor's node leases to expire (40s) before it plays any
    // pod: they are deleted first, and it takes the nodes over at once.
    prepare: dropNodeLeases,
    ready: () => httpOk(`http://127.0.0.1:${ports.kwok}/healthz`),
  },
  ...(kueueOn ? [{
    name: "kueue",
    args: [`--config=${path.join(stateDir, "kueue-config.yaml")}`, `--kubeconfig=${path.join(stateDir, "kueue.kubeconfig")}`],
    env: { KUBECONFIG: path.join(stateDir, "kueue.kubeconfig") },
    prepare: installKueue,
    ready: () => httpOk(`http://127.0.0.1:${ports.kueueHealth}/readyz`),
    after: kueueWebhooks,
  }] : []),
];

// --- Kueue -------------------------------------------------------------------------------------------------

const applyUrl = (o) => {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const plural = { CustomResourceDefinition: "customresourcedefinitions", MutatingWebhookConfiguration: "mutatingwebhookconfigurations", ValidatingWebhookConfiguration: "validatingwebhookconfigurations", Namespace: "namespaces" }[o.kind];
  return `${group ? `/apis/${group}` : "/api"}/${version}/${plural}/${o.metadata.name}?fieldManager=cairn-cluster&force=true`;
};

async function apply(o) {
  const res = await request(`https://127.0.0.1:${ports.api}${applyUrl(o)}`, {
    method: "PATCH", ...tls(), headers: { "content-type": "application/apply-patch+yaml", accept: "application/json" },
  }, JSON.stringify(o));
  if (res.status !== 200 && res.status !== 201) fail(`applying ${o.kind} ${o.metadata.name}: ${res.status} ${res.body}`);
}

const kueueClientConfig = (p) => ({ url: `https://127.0.0.1:${ports.kueueWebhook}${p}`, caBundle: readFileSync(path.join(pki, "ca.crt")).toString("base64") });

/** Kueue's configuration, serving certificate and CRDs (the kinds it converts call its webhook on 127.0.0.1). */
async function installKueue() {
  const certDir = path.join(stateDir, "kueue-certs");
  mkdirSync(certDir, { recursive: true, mode: 0o700 });
  copyFileSync(path.join(pki, "kueue-webhook.crt"), path.join(certDir, "tls.crt"));
  copyFileSync(path.join(pki, "kueue-webhook.key"), path.join(certDir, "tls.key"));
  // Kueue v0.17 loads a metrics certificate from this fixed path whenever its own certificate management is off,
  // even with metrics disabled (cmd/kueue/main.go): the webhook's certificate is put there, the one write outside
  // the state dir.
  const metricsCerts = "/etc/kueue/metrics/certs";
  try {
    mkdirSync(metricsCerts, { recursive: true });
    for (const f of ["tls.crt", "tls.key"]) copyFileSync(path.join(certDir, f), path.join(metricsCerts, f));
  } catch (e) {
    fail(`Kueue needs its certificate in ${metricsCerts} (${e.message}): run as root, or set CAIRN_CLUSTER_KUEUE=off`);
  }
  const config = {
    apiVersion: "config.kueue.x-k8s.io/v1beta2", kind: "Configuration", namespace: "kueue-system",
    health: { healthProbeBindAddress: `127.0.0.1:${ports.kueueHealth}` },
    metrics: { bindAddress: "0" },
    webhook: { host: "127.0.0.1", port: ports.kueueWebhook, certDir },
    leaderElection: { leaderElect: false },
    internalCertManagement: { enable: false },
    manageJobsWithoutQueueName: false,
    // Only batch/v1 Jobs (with the kueue.x-k8s.io/queue-name label) are Kueue's; no visibility API server.
    integrations: { frameworks: ["batch/job"] },
    featureGates: { VisibilityOnDemand: false },
  };
  writeFileSync(path.join(stateDir, "kueue-config.yaml"), YAML.stringify(config));
  await kueueCrds();
}

async function kueueCrds() {
  await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "kueue-system" } });
  const kustomization = YAML.parse(readFileSync(path.join(kueueManifests, "crd-kustomization.yaml"), "utf8"));
  const converted = new Set((kustomization.patches ?? []).map((p) => p.path?.match(/webhook_in_(\w+)\.yaml$/)?.[1]).filter(Boolean));
  for (const f of readdirSync(path.join(kueueManifests, "crd")).filter((n) => n.endsWith(".yaml")).sort()) {
    const crd = YAML.parse(readFileSync(path.join(kueueManifests, "crd", f), "utf8"));
    if (converted.has(crd.spec.names.plural)) {
      crd.spec.conversion = { strategy: "Webhook", webhook: { clientConfig: kueueClientConfig("/convert"), conversionReviewVersions: ["v1"] } };
    }
    await apply(crd);
  }
  // Kueue sets up its indexes at start and exits when a kind is not served yet.
  await waitFor("Kueue's CRDs", async () => {
    const res = await api("GET", "/apis/kueue.x-k8s.io/v1beta2");
    return res.status === 200 && ["workloads", "clusterqueues", "localqueues", "resourceflavors"].every((r) => JSON.parse(res.body).resources.some((x) => x.name === r));
  }, 60);
}

// As the cluster's admin, the ClusterQueue `cairn` that Cairn's per-team LocalQueues point at, over one flavor per
// node pool (Kueue adds the flavor's node labels to an admitted Job's pods), with the pools' capacity as quota.
const kueueFlavors = [
  { name: "cpu-pool", nodeLabels: { "cairn.dev/pool": "cpu" }, cpu: "64", memory: "256Gi", gpus: "0" },
  { name: "nvidia-t4", nodeLabels: { "gpu-type": "nvidia-t4" }, cpu: "32", memory: "256Gi", gpus: "8" },
  { name: "nvidia-a100", nodeLabels: { "gpu-type": "nvidia-a100" }, cpu: "64", memory: "512Gi", gpus: "8" },
];

async function kueueQueue() {
  const v = "kueue.x-k8s.io/v1beta2";
  const put = async (plural, o) => {
    const res = await request(`https://127.0.0.1:${ports.api}/apis/${v}/${plural}/${o.metadata.name}?fieldManager=cairn-cluster&force=true`, {
      method: "PATCH", ...tls(), headers: { "content-type": "application/apply-patch+yaml", accept: "application/json" },
    }, JSON.stringify(o));
    if (res.status !== 200 && res.status !== 201) fail(`applying ${o.kind} ${o.metadata.name}: ${res.status} ${res.body}`);
  };
  for (const f of kueueFlavors) await put("resourceflavors", { apiVersion: v, kind: "ResourceFlavor", metadata: { name: f.name }, spec: { nodeLabels: f.nodeLabels } });
  await put("clusterqueues", {
    apiVersion: v, kind: "ClusterQueue", metadata: { name: "cairn" },
    spec: {
      namespaceSelector: {},
      resourceGroups: [{
        coveredResources: ["cpu", "memory", "nvidia.com/gpu"],
        flavors: kueueFlavors.map((f) => ({ name: f.name, resources: [{ name: "cpu", nominalQuota: f.cpu }, { name: "memory", nominalQuota: f.memory }, { name: "nvidia.com/gpu", nominalQuota: f.gpus }] })),
      }],
    },
  });
}

/** Kueue's admission webhooks for its own kinds and batch/v1 Jobs, once it answers; then the `cairn` queue. */
async function kueueWebhooks() {
  await kueueCrds();
  const docs = YAML.parseAllDocuments(readFileSync(path.join(kueueManifests, "webhooks.yaml"), "utf8")).map((d) => d.toJS()).filter(Boolean);
  for (const cfg of docs) {
    cfg.metadata.name = `kueue-${cfg.metadata.name}`;
    cfg.webhooks = cfg.webhooks
      .filter((w) => /kueue-x-k8s-io|batch-v1-job/.test(w.clientConfig.service.path))
      .map((w) => ({ ...w, clientConfig: kueueClientConfig(w.clientConfig.service.path) }));
    await apply(cfg);
  }
  await kueueQueue();
}

// --- the API ---------------------------------------------------------------------------------------------

function request(url, options = {}, body) {
  const mod = url.startsWith("https:") ? https : http;
  return new Promise((resolve) => {
    const req = mod.request(url, { timeout: 3000, ...options }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on("error", (e) => resolve({ status: 0, body: e.message }));
    req.on("timeout", () => req.destroy(new Error("timed out")));
    if (body !== undefined) req.write(typeof body === "string" ? body : JSON.stringify(body));
    req.end();
  });
}

const tls = () => ({
  ca: readFileSync(path.join(pki, "ca.crt")), cert: readFileSync(path.join(pki, "admin.crt")), key: readFileSync(path.join(pki, "admin.key")),
});

function api(method, p, body) {
  return request(`https://127.0.0.1:${ports.api}${p}`, { method, ...tls(), headers: { "content-type": "application/json", accept: "application/json" } }, body);
}

const httpOk = async (url) => (await request(url)).status === 200;
const httpsOk = async (url) => (await request(url, { rejectUnauthorized: false })).status === 200;
const apiOk = async (p) => existsSync(path.join(pki, "admin.crt")) && (await api("GET", p)).status === 200;

async function waitFor(what, check, seconds, logFile) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(`${what} was not ready after ${seconds}s${logFile ? `: see ${logFile}` : ""}`);
}

// --- nodes -------------------------------------------------------------------------------------------------

// A CPU pool and GPU nodes of two types, all simulated by KWOK (the annotation is its selector).
const nodePools = [
  { prefix: "kwok-cpu", count: 4, cpu: "16", memory: "64Gi", labels: { "cairn.dev/pool": "cpu", "node.kubernetes.io/instance-type": "cpu-16x64" } },
  { prefix: "kwok-gpu-a100", count: 2, cpu: "32", memory: "256Gi", gpus: "4", labels: { "cairn.dev/pool": "gpu", "gpu-type": "nvidia-a100", "node.kubernetes.io/instance-type": "gpu-a100x4" } },
  { prefix: "kwok-gpu-t4", count: 2, cpu: "16", memory: "128Gi", gpus: "4", labels: { "cairn.dev/pool": "gpu", "gpu-type": "nvidia-t4", "node.kubernetes.io/instance-type": "gpu-t4x4" } },
];

function nodeManifests() {
  const nodes = [];
  for (const pool of nodePools) {
    for (let i = 0; i < pool.count; i++) {
      const name = `${pool.prefix}-${i}`;
      const resources = { cpu: pool.cpu, memory: pool.memory, pods: "110", ...(pool.gpus ? { "nvidia.com/gpu": pool.gpus } : {}) };
      nodes.push({
        apiVersion: "v1", kind: "Node",
        metadata: {
          name,
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok", ...pool.labels },
        },
        status: { allocatable: resources, capacity: resources, nodeInfo: { architecture: "amd64", operatingSystem: "linux", kubeletVersion: k8sVersion } },
      });
    }
  }
  return nodes;
}

async function ensureNodes() {
  for (const node of nodeManifests()) {
    const got = await api("GET", `/api/v1/nodes/${node.metadata.name}`);
    if (got.status === 200) continue;
    const made = await api("POST", "/api/v1/nodes", node);
    if (made.status !== 201 && made.status !== 409) fail(`creating node ${node.metadata.name}: ${made.status} ${made.body}`);
  }
}

async function dropNodeLeases() {
  for (const node of nodeManifests()) {
    const res = await api("DELETE", `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node.metadata.name}`);
    if (res.status !== 200 && res.status !== 404) fail(`deleting the lease of node ${node.metadata.name}: ${res.status} ${res.body}`);
  }
}

/** KWOK's nodes that are Ready and whose lease KWOK holds (it plays a node's pods only then). */
async function readyNodes() {
  const [nodes, leases] = await Promise.all([
    api("GET", "/api/v1/nodes?labelSelector=type%3Dkwok"),
    api("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"),
  ]);
  if (nodes.status !== 200 || leases.status !== 200) return [];
  const held = new Set(JSON.parse(leases.body).items.filter((l) => l.spec?.holderIdentity).map((l) => l.metadata.name));
  return JSON.parse(nodes.body).items.filter((n) => held.has(n.metadata.name) && n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
}

// --- commands ----------------------------------------------------------------------------------------------

function log(msg) {
  console.log(`[cluster] ${msg}`);
}

function fail(msg) {
  console.error(`[cluster] ${msg}`);
  process.exit(1);
}

async function start() {
  const t0 = Date.now();
  const list = components();
  if (list.every((c) => runningPid(c.name)) && (await apiOk("/readyz"))) {
    // Only what the script applies (nodes, Kueue's webhooks and queue), in case this script changed since.
    for (const c of list) await c.after?.();
    log(`already running; kubeconfig: ${kubeconfigPath}`);
    return;
  }
  build();
  for (const d of [stateDir, logs, run]) mkdirSync(d, { recursive: true });
  certificates();
  writeKubeconfig(kubeconfigPath, "admin");
  writeKubeconfig(path.join(stateDir, "controller-manager.kubeconfig"), "controller-manager");
  writeKubeconfig(path.join(stateDir, "scheduler.kubeconfig"), "scheduler");
  writeKubeconfig(path.join(stateDir, "kwok.kubeconfig"), "kwok");
  if (kueueOn) writeKubeconfig(path.join(stateDir, "kueue.kubeconfig"), "kueue");
  for (const c of list) {
    const logFile = path.join(logs, `${c.name}.log`);
    let started = false;
    if (!runningPid(c.name)) {
      const busy = await portBusy(c);
      if (busy) fail(`port ${busy} is taken by another program: set CAIRN_CLUSTER_PORT (the API server's port; the others follow it)`);
      await c.prepare?.();
      startProcess(c.name, c.args, c.env);
      started = true;
    }
    await waitFor(c.name, async () => {
      const exit = started ? exitedChildren.get(c.name) : runningPid(c.name) === null ? "gone" : undefined;
      if (exit) fail(`${c.name} exited (${exit}): see ${logFile}`);
      return c.ready();
    }, 90, logFile);
    await c.after?.();
  }
  const expected = nodePools.reduce((n, p) => n + p.count, 0);
  await waitFor(`${expected} Ready nodes`, async () => (await readyNodes()).length >= expected, 90, path.join(logs, "kwok.log"));
  const version = JSON.parse((await api("GET", "/version")).body).gitVersion;
  const pools = nodePools.map((p) => `${p.count} ${p.labels["gpu-type"] ?? "cpu"}`).join(", ");
  log(`Kubernetes ${version} up in ${((Date.now() - t0) / 1000).toFixed(1)}s at https://127.0.0.1:${ports.api}: ${expected} KWOK nodes Ready (${pools}); kubeconfig ${kubeconfigPath}`);
}

async function portBusy(c) {
  const own = { etcd: [ports.etcd, ports.etcdPeer], "kube-apiserver": [ports.api], "kube-controller-manager": [ports.controllerManager], "kube-scheduler": [ports.scheduler], kwok: [ports.kwok], kueue: [ports.kueueWebhook, ports.kueueHealth] }[c.name];
  const net = await import("node:net");
  for (const port of own) {
    const taken = await new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (taken) return port;
  }
  return null;
}

async function stop() {
  // Every component there may be, Kueue too when CAIRN_CLUSTER_KUEUE changed since the start.
  const names = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kueue"].reverse();
  for (const name of names) {
    const pid = runningPid(name);
    if (pid) {
      process.kill(pid, "SIGTERM");
      const until = Date.now() + 15_000;
      while (runningPid(name) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (runningPid(name)) process.kill(pid, "SIGKILL");
      log(`stopped ${name} (pid ${pid})`);
    }
    rmSync(pidFile(name), { force: true });
  }
}

async function status() {
  let up = 0;
  const list = components();
  for (const c of list) {
    const pid = runningPid(c.name);
    if (pid) up++;
    log(`${c.name.padEnd(24)} ${pid ? `running (pid ${pid})` : "stopped"}`);
  }
  if (up > 0 && (await apiOk("/readyz"))) {
    log(`API https://127.0.0.1:${ports.api} ready; ${(await readyNodes()).length} KWOK nodes Ready; kubeconfig ${kubeconfigPath}; logs ${logs}`);
  } else if (up > 0) {
    log(`API https://127.0.0.1:${ports.api} not ready; logs ${logs}`);
  }
  log(`binaries: ${binDir}${builds.every((b) => b.bins.every((n) => existsSync(bin(n)))) ? "" : " (not built yet)"}`);
  process.exitCode = up === list.length ? 0 : up === 0 ? 3 : 1;
}

const command = process.argv[2] ?? "start";
switch (command) {
  case "start": await start(); break;
  case "stop": await stop(); break;
  case "status": await status(); break;
  case "build": {
    const t0 = Date.now();
    const n = build();
    log(n ? `built in ${Math.round((Date.now() - t0) / 1000)}s: ${binDir}` : `up to date: ${binDir}`);
    break;
  }
  case "reset": await stop(); rmSync(path.join(stateDir, "etcd"), { recursive: true, force: true }); log("stopped; etcd's data removed"); break;
  default: fail(`unknown command "${command}": start (default), stop, status, build or reset`);
}
