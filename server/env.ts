// The only reader of process.env (besides db/client.ts): validated once, with defaults for `npm start`.
import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

const boolish = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : ["true", "1", "yes"].includes(v)));

/** CAIRN_TRUSTED_PROXIES: "10.0.0.1, 10.1.0.0/16, fd00::/8" (checked here, parsed in server/auth/request-info.ts). */
function validProxyList(list: string): boolean {
  return list.split(",").map((e) => e.trim()).filter(Boolean).every((entry) => {
    const [address = "", prefix, ...rest] = entry.split("/");
    const type = isIP(address);
    if (type === 0 || rest.length > 0) return false;
    return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (type === 6 ? 128 : 32));
  });
}

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  CAIRN_DATA_DIR: z.string().default(".data"),
  DATABASE_URL: z.string().url().optional().or(z.literal("").transform(() => undefined)),
  CAIRN_DEMO: boolish,
  NEXTAUTH_SECRET: z.string().min(16).optional().or(z.literal("").transform(() => undefined)),
  NEXTAUTH_URL: z.string().url().optional().or(z.literal("").transform(() => undefined)),
  OIDC_ISSUER: z.string().url().optional().or(z.literal("").transform(() => undefined)),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),
  OIDC_NAME: z.string().default("Single sign-on"),
  CAIRN_LOGIN_MAX_FAILURES: z.coerce.number().int().positive().default(5),
  CAIRN_LOGIN_WINDOW_SECONDS: z.coerce.number().int().positive().default(900),
  CAIRN_TRUSTED_PROXIES: z.string().default("").refine(validProxyList, "must be a comma-separated list of IP addresses or CIDR ranges"),
  CAIRN_ARTIFACT_MAX_MB: z.coerce.number().positive().default(512),
  CAIRN_CODE_ARCHIVE_MAX_MB: z.coerce.number().positive().default(100),
  CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB: z.coerce.number().positive().optional().or(z.literal("").transform(() => undefined)),
  CAIRN_LOCAL_REPLICAS_MAX: z.coerce.number().int().min(1).max(1000).default(32),
  CAIRN_AUTOSCALE_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  CAIRN_AUTOSCALE_DOWN_WINDOW_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  PORT: z.coerce.number().int().positive().default(3000),
  CAIRN_TRACKING_URL: z.string().url().optional().or(z.literal("").transform(() => undefined)),
  CAIRN_JOB_SANDBOX: z.enum(["auto", "required", "off"]).default("auto"),
  CAIRN_JOB_NETWORK: z.enum(["cairn-only", "host"]).default("cairn-only"),
  CAIRN_JOB_CGROUPS: z.enum(["auto", "off"]).default("auto"),
  CAIRN_WEBHOOK_ALLOWED_HOSTS: z.string().default(""),
  CAIRN_JOB_UID_BASE: z.coerce.number().int().min(1000).max(2 ** 31 - 70_000).default(200_000),
  CAIRN_JOB_RUNTIME_PACKAGES: z.string().default("onnx-proto"),
  CAIRN_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(100).default(2000),
  CAIRN_MAX_WAITING_JOBS_PER_TEAM: z.coerce.number().int().min(1).default(500),
  CAIRN_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(2000),
  CAIRN_OPTUNA_PYTHON: z.string().min(1).default("python3"),
  CAIRN_DEPLOYMENT_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  CAIRN_APPROVAL_EXPIRY_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  CAIRN_SPLIT_GUARD_INTERVAL_MS: z.coerce.number().int().min(500).default(10_000),
  CAIRN_SPLIT_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  CAIRN_DRIFT_INTERVAL_MS: z.coerce.number().int().min(500).default(60_000),
  CAIRN_DRIFT_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  CAIRN_INFERENCE_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(14),
  CAIRN_LEADER_RETRY_MS: z.coerce.number().int().min(100).default(2000),
  CAIRN_INTERNAL_URL: z.string().url().max(60).optional(),
  CAIRN_COMPUTE_BACKEND: z.enum(["local", "kubernetes"]).default("local"),
  CAIRN_K8S_DEFAULT_IMAGE: z.string().min(1).default("node:20-slim"),
  CAIRN_K8S_FETCH_IMAGE: z.string().min(1).default("curlimages/curl:8.11.1"),
  CAIRN_K8S_TTL_SECONDS: z.coerce.number().int().min(0).default(3600),
  CAIRN_K8S_EVENT_POLL_MS: z.coerce.number().int().min(100).default(5000),
  CAIRN_K8S_SERVICE_ACCOUNT: z.string().regex(/^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must look like system:serviceaccount:<namespace>:<name>").default("system:serviceaccount:cairn-system:cairn"),
  KUBECONFIG: z.string().optional(),
  KUBERNETES_SERVICE_HOST: z.string().optional(),
  CAIRN_CLUSTER_DIR: z.string().optional(),
  CAIRN_K8S_MODEL_SERVER_IMAGE: z.string().min(1).default("cairn/model-server:1"),
  CAIRN_K8S_MODEL_CPU: z.coerce.number().positive().max(1000).default(1),
  CAIRN_K8S_MODEL_MEMORY_GIB: z.coerce.number().positive().max(10_000).default(2),
  CAIRN_K8S_SERVING_ROUTE: z.union([z.literal("proxy"), z.string().regex(/^https?:\/\/\S*\{service\}\S*$/, "must be \"proxy\" or a URL template holding {service} (and usually {namespace}), such as http://{service}.{namespace}.svc")]).default("http://{service}.{namespace}.svc"),
  CAIRN_TENANT_SYNC_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  PROMETHEUS_URL: z.string().url().optional().or(z.literal("").transform(() => undefined)),
  CAIRN_PROMETHEUS: z.string().min(1).default("prometheus"),
  CAIRN_COST_METER_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  CAIRN_SERVING_SAMPLE_INTERVAL_MS: z.coerce.number().int().min(1000).default(15_000),
  CAIRN_PROMETHEUS_SCRAPE_SECONDS: z.coerce.number().int().min(1).max(300).default(5),
  CAIRN_AUDIT_KEY: z.string().min(32, "must be at least 32 characters (e.g. openssl rand -base64 32)").optional().or(z.literal("").transform(() => undefined)),
  CAIRN_AUDIT_ANCHOR_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  CAIRN_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional().or(z.literal("").transform(() => undefined)),
  CAIRN_QUERY_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
  CAIRN_QUERY_SLOTS_PER_TEAM: z.coerce.number().int().min(1).optional(),
  CAIRN_QUERY_SLOT_WAIT_MS: z.coerce.number().int().min(0).default(2000),
  CAIRN_QUERY_FLOOD_SHARE: z.coerce.number().gt(0, "CAIRN_QUERY_FLOOD_SHARE is a share of time above 0 and at most 1").max(1, "CAIRN_QUERY_FLOOD_SHARE is a share of time above 0 and at most 1").default(0.25),
  CAIRN_ALERT_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  CAIRN_ALERT_REPEAT_MINUTES: z.coerce.number().int().min(1).default(240),
  CAIRN_SMTP_URL: z.string().regex(/^smtp:\/\/[^/\s]+$/, "CAIRN_SMTP_URL is smtp://host:port").optional(),
  CAIRN_ALERT_FROM: z.string().email("CAIRN_ALERT_FROM is an email address").default("cairn@localhost"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url("must be the collector's base URL, such as http://127.0.0.1:4318").optional().or(z.literal("").transform(() => undefined)),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url("must be the full traces URL, such as http://127.0.0.1:4318/v1/traces").optional().or(z.literal("").transform(() => undefined)),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().regex(/^\s*([^=,\s]+\s*=[^,]*)?(,\s*[^=,\s]+\s*=[^,]*)*\s*$/, "must be key=value pairs separated by commas, such as authorization=Bearer%20abc").default(""),
  OTEL_SERVICE_NAME: z.string().min(1).default("cairn"),
  CAIRN_LOG_FORMAT: z.enum(["text", "json"]).default("text"),
  PATH: z.string().default(""),
});

export type Env = {
  nodeEnv: "development" | "production" | "test";
  dataDir: string;
  databaseUrl?: string;
  demo: boolean;
  nextAuthUrl?: string;
  oidc?: { issuer: string; clientId: string; clientSecret: string; name: string };
  login: { maxFailures: number; windowSeconds: number };
  /** Proxies (IPs / CIDR ranges, comma-separated) whose X-Forwarded-For/-Host/-Proto are believed; "" believes none. */
  trustedProxies: string;
  artifactMaxBytes: number;
  /** Largest uploaded code archive (as uploaded). */
  codeArchiveMaxBytes: number;
  /** What a code archive may unpack to, counted as it inflates (default ten times codeArchiveMaxBytes). */
  codeArchiveMaxUnpackedBytes: number;
  /** Model-server processes this host runs for every team's live deployments together (local backend). */
  localReplicasMax: number;
  /** The autoscaler: how often it reads load, and how long load must stay low before it removes replicas. */
  autoscale: { intervalMs: number; downWindowMs: number };
  /** The base URL jobs use to reach Cairn's MLflow API (MLFLOW_TRACKING_URI). */
  trackingUrl: string;
  schedulerIntervalMs: number;
  /** Jobs a team may have waiting (queued or admitted) at once: what one admission pass handles stays bounded. */
  maxWaitingJobsPerTeam: number;
  /** Sweeps: how often the driver asks for new trials and applies early stopping; the Python that has Optuna (Bayesian search). */
  sweeps: { intervalMs: number; optunaPython: string };
  /** How often the deployment reconciler compares live deployments with the replicas this process runs. */
  deploymentReconcileIntervalMs: number;
  approvalExpiryIntervalMs: number;
  /** Traffic splits: how often the guard checks abort thresholds, and how long the split request log and labels are kept. */
  splits: { guardIntervalMs: number; logRetentionDays: number };
  /** Drift monitoring: how often the worker computes, the window it computes over, and how long sampled requests are kept. */
  drift: { intervalMs: number; windowMinutes: number; logRetentionDays: number };
  /** How often a process that does not lead the workers tries for the leader lock (PostgreSQL). */
  leaderRetryMs: number;
  /** Where the other Cairn processes reach this one (the leader advertises it; inference a follower gets is sent there). */
  internalUrl: string;
  /** The local executor's job sandbox (server/compute/sandbox.ts): the level wanted, the uid range, the runtime. */
  jobSandbox: { setting: "auto" | "required" | "off"; uidBase: number; uidCount: number; runtimePackages: string[]; network: "cairn-only" | "host"; cgroups: "auto" | "off" };
  computeBackend: "local" | "kubernetes";
  /** Hosts (names or addresses) webhooks may reach even on this server or its private network. */
  webhookAllowedHosts: string[];
  /** The kubernetes executor: images, how long finished Jobs stay, how often a waiting Job's Events are read. */
  kubernetes: {
    defaultImage: string; fetchImage: string; ttlSecondsAfterFinished: number; eventPollMs: number; serviceAccount: string;
    /** Serving: the model-server image, each pod's cpu and memory, and how the gateway reaches a deployment's Service. */
    modelServerImage: string; modelCpu: number; modelMemoryGib: number; servingRoute: string;
    /**
     * Where the cluster's credentials come from: "default" (KUBECONFIG, ~/.kube/config, or the in-cluster service
     * account — the client library's order), else the kubeconfig `npm run cluster` wrote ($CAIRN_CLUSTER_DIR), else none.
     */
    kubeconfig: { kind: "default" } | { kind: "file"; path: string } | { kind: "none"; looked: string[] };
  };
  /** How often the tenant sync reconciles every team's namespace objects (kubernetes backend only). */
  tenantSyncIntervalMs: number;
  /** The port the web server listens on (PORT; `next start` sets it to the port it took). */
  httpPort: number;
  /** Time series: PROMETHEUS_URL, or a managed Prometheus from `binary` ("off": none) scraping every `scrapeSeconds`. */
  prometheus: { url?: string; binary: string; scrapeSeconds: number; port: number };
  /** How often the cost meter charges running jobs and live deployments into the ledger. */
  costMeterIntervalMs: number;
  /** How often the CPU and memory of live deployments' replicas are sampled (what the cost meter charges as used). */
  servingSampleIntervalMs: number;
  /** How often the audit chain's head is anchored in $CAIRN_DATA_DIR/audit-anchor (the window a deletion can hide in). */
  auditAnchorIntervalMs: number;
  /**
   * Run searches and metric-history reads: each statement stops after `timeoutMs` (PostgreSQL only); a team
   * runs at most `slotsPerTeam` (4 on PostgreSQL, 1 on PGlite) searches with a filter or order and history reads at once in this process, and
   * one more waits up to `slotWaitMs` for a slot before it is refused (429).
   */
  /** floodShare: the share of its slots' time a team asking for more than its slots gets while another team also reads. */
  queryLimits: { timeoutMs: number; slotsPerTeam: number; slotWaitMs: number; floodShare: number };
  /** The alert evaluator's pass interval, the repeat interval of an unacknowledged firing alert, and email (SMTP relay, sender). */
  alerts: { intervalMs: number; repeatMs: number; smtpUrl?: string; from: string };
  /**
   * OpenTelemetry traces over OTLP/HTTP: where to send them (unset: tracing is off and nothing is registered),
   * extra headers for the collector (OTEL_EXPORTER_OTLP_HEADERS, values percent-decoded), and the service name.
   */
  tracing: TracingConfig;
  /** The server's log lines: "text" (`[cairn] …`, for a terminal) or "json" (one object a line, for a log collector). */
  logFormat: "text" | "json";
  /** Directories of PATH, for finding helper binaries (prometheus). */
  pathDirs: string[];
  version: string;
};

function load(): Env {
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const oidcParts = [e.OIDC_ISSUER, e.OIDC_CLIENT_ID, e.OIDC_CLIENT_SECRET];
  if (oidcParts.some(Boolean) && !oidcParts.every(Boolean)) {
    throw new Error("Invalid configuration: OIDC needs all of OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET");
  }
  // next-auth v4 derives its callback URLs from the Host header only when told to trust it.
  process.env.AUTH_TRUST_HOST ??= "true";
  return {
    nodeEnv: e.NODE_ENV,
    dataDir: path.resolve(e.CAIRN_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    demo: e.CAIRN_DEMO ?? true,
    nextAuthUrl: e.NEXTAUTH_URL,
    oidc: e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET
      ? { issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET, name: e.OIDC_NAME }
      : undefined,
    login: { maxFailures: e.CAIRN_LOGIN_MAX_FAILURES, windowSeconds: e.CAIRN_LOGIN_WINDOW_SECONDS },
    trustedProxies: e.CAIRN_TRUSTED_PROXIES,
    artifactMaxBytes: Math.floor(e.CAIRN_ARTIFACT_MAX_MB * 1024 * 1024),
    codeArchiveMaxBytes: Math.floor(e.CAIRN_CODE_ARCHIVE_MAX_MB * 1024 * 1024),
    codeArchiveMaxUnpackedBytes: Math.floor((e.CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB ?? 10 * e.CAIRN_CODE_ARCHIVE_MAX_MB) * 1024 * 1024),
    localReplicasMax: e.CAIRN_LOCAL_REPLICAS_MAX,
    autoscale: { intervalMs: e.CAIRN_AUTOSCALE_INTERVAL_MS, downWindowMs: e.CAIRN_AUTOSCALE_DOWN_WINDOW_MS },
    trackingUrl: (e.CAIRN_TRACKING_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/+$/, ""),
    schedulerIntervalMs: e.CAIRN_SCHEDULER_INTERVAL_MS,
    maxWaitingJobsPerTeam: e.CAIRN_MAX_WAITING_JOBS_PER_TEAM,
    sweeps: { intervalMs: e.CAIRN_SWEEP_INTERVAL_MS, optunaPython: e.CAIRN_OPTUNA_PYTHON },
    deploymentReconcileIntervalMs: e.CAIRN_DEPLOYMENT_RECONCILE_INTERVAL_MS,
    approvalExpiryIntervalMs: e.CAIRN_APPROVAL_EXPIRY_INTERVAL_MS,
    splits: { guardIntervalMs: e.CAIRN_SPLIT_GUARD_INTERVAL_MS, logRetentionDays: e.CAIRN_SPLIT_LOG_RETENTION_DAYS },
    drift: { intervalMs: e.CAIRN_DRIFT_INTERVAL_MS, windowMinutes: e.CAIRN_DRIFT_WINDOW_MINUTES, logRetentionDays: e.CAIRN_INFERENCE_LOG_RETENTION_DAYS },
    leaderRetryMs: e.CAIRN_LEADER_RETRY_MS,
    httpPort: e.PORT,
    internalUrl: (e.CAIRN_INTERNAL_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/+$/, ""),
    jobSandbox: {
      setting: e.CAIRN_JOB_SANDBOX,
      uidBase: e.CAIRN_JOB_UID_BASE,
      uidCount: 65_536,
      runtimePackages: e.CAIRN_JOB_RUNTIME_PACKAGES.split(",").map((p) => p.trim()).filter(Boolean),
      network: e.CAIRN_JOB_NETWORK,
      cgroups: e.CAIRN_JOB_CGROUPS,
    },
    computeBackend: e.CAIRN_COMPUTE_BACKEND,
    webhookAllowedHosts: e.CAIRN_WEBHOOK_ALLOWED_HOSTS.split(",").map((h) => h.trim().toLowerCase().replace(/^\[|\]$/g, "")).filter(Boolean),
    kubernetes: {
      defaultImage: e.CAIRN_K8S_DEFAULT_IMAGE,
      fetchImage: e.CAIRN_K8S_FETCH_IMAGE,
      ttlSecondsAfterFinished: e.CAIRN_K8S_TTL_SECONDS,
      eventPollMs: e.CAIRN_K8S_EVENT_POLL_MS,
      serviceAccount: e.CAIRN_K8S_SERVICE_ACCOUNT,
      modelServerImage: e.CAIRN_K8S_MODEL_SERVER_IMAGE,
      modelCpu: e.CAIRN_K8S_MODEL_CPU,
      modelMemoryGib: e.CAIRN_K8S_MODEL_MEMORY_GIB,
      servingRoute: e.CAIRN_K8S_SERVING_ROUTE,
      kubeconfig: kubeconfigSource(e),
    },
    tenantSyncIntervalMs: e.CAIRN_TENANT_SYNC_INTERVAL_MS,
    prometheus: { url: e.PROMETHEUS_URL, binary: e.CAIRN_PROMETHEUS, scrapeSeconds: e.CAIRN_PROMETHEUS_SCRAPE_SECONDS, port: e.PORT },
    costMeterIntervalMs: e.CAIRN_COST_METER_INTERVAL_MS,
    servingSampleIntervalMs: e.CAIRN_SERVING_SAMPLE_INTERVAL_MS,
    auditAnchorIntervalMs: e.CAIRN_AUDIT_ANCHOR_INTERVAL_MS,
    queryLimits: {
      timeoutMs: e.CAIRN_QUERY_TIMEOUT_MS,
      // PGlite runs one statement at a time for everyone: a team's second heavy read would only queue there.
      // On PostgreSQL a team's heavy reads take at most half this machine's cores (the database usually
      // shares it), so the other half stays free for every other team: 1 on 2 cores, 4 on 8.
      slotsPerTeam: e.CAIRN_QUERY_SLOTS_PER_TEAM ?? (e.DATABASE_URL ? Math.max(1, Math.floor(os.availableParallelism() / 2)) : 1),
      slotWaitMs: e.CAIRN_QUERY_SLOT_WAIT_MS,
      floodShare: e.CAIRN_QUERY_FLOOD_SHARE,
    },
    alerts: { intervalMs: e.CAIRN_ALERT_INTERVAL_MS, repeatMs: e.CAIRN_ALERT_REPEAT_MINUTES * 60_000, smtpUrl: e.CAIRN_SMTP_URL, from: e.CAIRN_ALERT_FROM },
    tracing: {
      // The signal-specific URL is used as given; the base URL gets the OTLP/HTTP traces path (the spec's rule).
      endpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces` : undefined),
      headers: otlpHeaders(e.OTEL_EXPORTER_OTLP_HEADERS),
      serviceName: e.OTEL_SERVICE_NAME,
    },
    logFormat: e.CAIRN_LOG_FORMAT,
    pathDirs: e.PATH.split(path.delimiter).filter(Boolean),
    version: process.env.npm_package_version ?? "0.1.0",
  };
}

export type TracingConfig = { endpoint?: string; headers: Record<string, string>; serviceName: string };

/** OTEL_EXPORTER_OTLP_HEADERS: "k1=v1,k2=v2" with percent-encoded values (the OpenTelemetry spec's format). */
function otlpHeaders(list: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of list.split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const value = pair.slice(at + 1).trim();
    let decoded = value;
    try {
      decoded = decodeURIComponent(value);
    } catch {
      decoded = value;
    }
    headers[pair.slice(0, at).trim().toLowerCase()] = decoded;
  }
  return headers;
}

let cached: Env | undefined;
/** KUBECONFIG, ~/.kube/config or in-cluster first; then the local cluster's kubeconfig (`npm run cluster`). */
function kubeconfigSource(e: { KUBECONFIG?: string; KUBERNETES_SERVICE_HOST?: string; CAIRN_CLUSTER_DIR?: string }): Env["kubernetes"]["kubeconfig"] {
  const home = path.join(os.homedir(), ".kube", "config");
  if (e.KUBECONFIG || e.KUBERNETES_SERVICE_HOST || existsSync(home)) return { kind: "default" };
  const local = path.join(path.resolve(e.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster")), "kubeconfig");
  return existsSync(local) ? { kind: "file", path: local } : { kind: "none", looked: ["KUBECONFIG", home, "the in-cluster service account", local] };
}

export function env(): Env {
  cached ??= load();
  return cached;
}

let secret: string | undefined;
/** NEXTAUTH_SECRET, or a secret generated on first start and kept in the data dir. */
export function authSecret(): string {
  if (secret) return secret;
  const fromEnv = process.env.NEXTAUTH_SECRET;
  if (fromEnv) return (secret = fromEnv);
  const file = path.join(env().dataDir, "auth-secret");
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  return (secret = readFileSync(file, "utf8").trim());
}

/**
 * A secret kept in the data dir, generated on first use. Written to a temp file and linked into place, so
 * two processes starting at once agree on one value and neither reads a half-written file.
 */
function dataDirSecret(name: string): string {
  const file = path.join(env().dataDir, name);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    writeFileSync(temp, randomBytes(32).toString("base64url"), { mode: 0o600 });
    try {
      linkSync(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    } finally {
      unlinkSync(temp);
    }
  }
  return readFileSync(file, "utf8").trim();
}

let auditKeyCache: string | undefined;
/** The audit chain's HMAC key: CAIRN_AUDIT_KEY, or one generated on first start into $CAIRN_DATA_DIR/audit-key. Never stored in the database. */
export function auditKey(): string {
  auditKeyCache ??= schema.shape.CAIRN_AUDIT_KEY.parse(process.env.CAIRN_AUDIT_KEY) ?? dataDirSecret("audit-key");
  return auditKeyCache;
}

let metricsTokenCache: string | undefined;
/** The bearer token that unlocks /api/metrics' labelled exposition: CAIRN_METRICS_TOKEN, or $CAIRN_DATA_DIR/metrics-token. */
export function metricsToken(): string {
  metricsTokenCache ??= schema.shape.CAIRN_METRICS_TOKEN.parse(process.env.CAIRN_METRICS_TOKEN) ?? dataDirSecret("metrics-token");
  return metricsTokenCache;
}
