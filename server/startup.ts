// Start-up: open (and migrate) the database, seed the demo organization, print the demo logins.
import path from "node:path";
import { DEMO_PASSWORD, DEMO_USERS } from "@/db/seed/demo";
import { getDatabase } from "@/db/client";
import { getReadyDb } from "./bootstrap";
import { env, metricsToken } from "./env";

export async function announceStartup(): Promise<void> {
  try {
    const db = await getReadyDb();
    const { backend } = await getDatabase();
    const e = env();
    console.log(`[cairn] database: ${backend === "pglite" ? `embedded PGlite in ${e.dataDir}/pglite` : "PostgreSQL (DATABASE_URL)"}`);
    if (e.demo) {
      console.log(`[cairn] demo organization — password for every account: ${DEMO_PASSWORD}`);
      for (const u of DEMO_USERS) console.log(`[cairn]   ${u.email.padEnd(26)} ${u.label}`);
      console.log("[cairn] (set CAIRN_DEMO=false to start without the demo organization)");
    }
    // Audit: the chain's head is anchored in the data dir, outside the database, every CAIRN_AUDIT_ANCHOR_INTERVAL_MS.
    const { startAuditAnchor } = await import("./audit/anchor");
    startAuditAnchor(db);
    // Training jobs: converge what an earlier process left running, then admit and dispatch on a loop.
    const { startScheduler } = await import("./jobs/scheduler");
    await startScheduler(db);
    // Time series (deployment metrics): PROMETHEUS_URL, or a managed Prometheus scraping this server.
    const prom = e.prometheus;
    const { findBinary, connectPrometheus, prometheusReady } = await import("./observability/prometheus");
    const binary = prom.url || prom.binary === "off" ? null : findBinary(prom.binary, e.pathDirs);
    void connectPrometheus({
      url: prom.url,
      managed: binary ? { binary, dir: path.join(e.dataDir, "prometheus"), scrapeTarget: `127.0.0.1:${prom.port}`, scrapeIntervalSeconds: prom.scrapeSeconds, scrapeToken: metricsToken() } : null,
    }).then(() => {
      if (prom.url) {
        metricsToken();
        console.log(`[cairn] metrics: Prometheus at ${prom.url} (rates assume it scrapes every ${prom.scrapeSeconds} s: CAIRN_PROMETHEUS_SCRAPE_SECONDS; it needs \`Authorization: Bearer\` with CAIRN_METRICS_TOKEN or ${path.join(e.dataDir, "metrics-token")} to see team and deployment labels)`);
      }
      else if (!binary) console.log("[cairn] metrics: no Prometheus (set PROMETHEUS_URL or install prometheus) — deployment charts are unavailable");
      else if (prometheusReady()) console.log(`[cairn] metrics: managed Prometheus (${binary}) scraping every ${prom.scrapeSeconds} s`);
    });
    // Costs: running jobs and live deployments are charged into the ledger as they run.
    const { startCostMeter } = await import("./costs/meter");
    startCostMeter(db, e.costMeterIntervalMs);
    // Deployments: replicas do not outlive the process that started them, so bring every live one up again.
    const { startDeployments } = await import("./deployments/runtime");
    void startDeployments(db).then((n) => { if (n) console.log(`[cairn] brought up ${n} deployment(s)`); }, (err: unknown) => console.error("[cairn] bringing up deployments failed", err));
    // On Kubernetes, every team's namespace, ResourceQuota, LimitRange and RBAC are kept in place.
    if (e.computeBackend === "kubernetes") {
      const [{ defaultKubeConfig }, { startTenantSync }] = await Promise.all([import("./compute/kubernetes"), import("./tenants/sync")]);
      startTenantSync(db, defaultKubeConfig());
      console.log(`[cairn] tenant sync: reconciling team namespaces every ${Math.round(e.tenantSyncIntervalMs / 1000)} s`);
    }
  } catch (err) {
    console.error("[cairn] start-up failed: the database could not be opened or migrated", err);
  }
}
