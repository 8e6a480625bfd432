// Start-up: open (and migrate) the database, seed the demo organization, print the demo logins.
import path from "node:path";
import { DEMO_PASSWORD, DEMO_USERS } from "@/db/seed/demo";
import { getDatabase } from "@/db/client";
import { getReadyDb } from "./bootstrap";
import { env, metricsToken } from "./env";
import { log } from "./observability/log";

export async function announceStartup(): Promise<void> {
  try {
    const db = await getReadyDb();
    const { backend, url } = await getDatabase();
    const e = env();
    log.info(`database: ${backend === "pglite" ? `embedded PGlite in ${e.dataDir}/pglite` : "PostgreSQL (DATABASE_URL)"}`);
    if (e.demo) {
      log.info(`demo organization — password for every account: ${DEMO_PASSWORD}`);
      for (const u of DEMO_USERS) log.info(`  ${u.email.padEnd(26)} ${u.label}`);
      log.info("(set CAIRN_DEMO=false to start without the demo organization)");
    }
    // Several processes on one PostgreSQL: job status changes published in one reach the event streams of all.
    if (backend === "postgres" && url) {
      const [{ JobChangeBridge }, { jobChangeBus }] = await Promise.all([import("./jobs/change-bridge"), import("./jobs/events")]);
      await new JobChangeBridge({ db, url, bus: jobChangeBus() }).start();
    }
    // The gateway keeps where its addresses lead in memory, dropped whenever the database announces a change.
    const { startRouteCache } = await import("./deployments/route-cache");
    await startRouteCache(db, { backend, url }).catch((err: unknown) => log.warn("gateway routes are read from the database on every request: the route cache did not start", { err }));
    // The gateway's per-minute rollups (deployment charts without Prometheus), written every few seconds by each process.
    const { startInferenceRollups } = await import("./observability/inference-rollups");
    startInferenceRollups(db);
    // The API's per-minute rollups (the admins' Platform page without Prometheus), likewise.
    const { startApiRollups } = await import("./observability/api-rollups");
    startApiRollups(db);
    // The background work (job scheduler, deployment reconciler, cost meter, tenant sync, audit anchor, approval
    // expiry) runs in one leading process: the holder of a PostgreSQL advisory lock, or this process on PGlite.
    const [{ createPlatformWorkers }, { installWorkers }] = await Promise.all([import("./workers"), import("./workers/registry")]);
    const workers = await createPlatformWorkers(db, { backend, url });
    installWorkers(workers);
    await workers.start();
    if (backend === "postgres" && !workers.isLeader()) log.info(`workers: another Cairn process leads; this one serves requests and takes over if it stops (checks every ${Math.round(e.leaderRetryMs / 1000)} s)`);
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
        log.info(`metrics: Prometheus at ${prom.url} (rates assume it scrapes every ${prom.scrapeSeconds} s: CAIRN_PROMETHEUS_SCRAPE_SECONDS; it needs \`Authorization: Bearer\` with CAIRN_METRICS_TOKEN or ${path.join(e.dataDir, "metrics-token")} to see team and deployment labels)`);
      }
      else if (!binary) log.info("metrics: no Prometheus — deployment charts come from Cairn's own per-minute rollups (set PROMETHEUS_URL, or install prometheus, for finer resolution)");
      else if (prometheusReady()) log.info(`metrics: managed Prometheus (${binary}) scraping every ${prom.scrapeSeconds} s`);
    });
  } catch (err) {
    log.error("start-up failed: the database could not be opened or migrated", { err });
  }
}
