import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

// The portal on Kubernetes: `next start` with CAIRN_COMPUTE_BACKEND=kubernetes against the local cluster of
// `npm run cluster` (its kubeconfig), on a fresh data directory, in Debian's Chromium. Needs a build.
const PORT = Number(process.env.E2E_CLUSTER_PORT ?? 3230);
const DATA_DIR = process.env.E2E_CLUSTER_DATA_DIR ?? ".data-e2e-cluster";
const CLUSTER_DIR = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");

export default defineConfig({
  testDir: "e2e-cluster",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: process.env.CI ? [["list"], ["json", { outputFile: "reports/e2e-cluster.json" }]] : "list",
  use: {
    baseURL: `http://localhost:${PORT}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium", viewport: { width: 1440, height: 900 } } }],
  webServer: {
    command: `rm -rf ${DATA_DIR} && node scripts/start.mjs`,
    url: `http://localhost:${PORT}/api/health`,
    timeout: 300_000,
    reuseExistingServer: false,
    env: {
      PORT: String(PORT), CAIRN_DATA_DIR: DATA_DIR, CAIRN_COMPUTE_BACKEND: "kubernetes", KUBECONFIG: path.join(CLUSTER_DIR, "kubeconfig"),
      CAIRN_PROMETHEUS: "off", CAIRN_DEPLOYMENT_RECONCILE_INTERVAL_MS: "2000", CAIRN_K8S_EVENT_POLL_MS: "1000",
    },
    stdout: "pipe",
  },
});
