import { defineConfig } from "@playwright/test";

// Runs against `next start` (via scripts/start.mjs) on a fresh data directory, in Debian's Chromium.
const PORT = Number(process.env.E2E_PORT ?? 3210);
const DATA_DIR = process.env.E2E_DATA_DIR ?? ".data-e2e";
const OIDC_PORT = PORT + 89;

export default defineConfig({
  testDir: "e2e",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"], ["json", { outputFile: "reports/e2e.json" }]] : "list",
  use: {
    baseURL: `http://localhost:${PORT}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium", viewport: { width: 1440, height: 900 } } }],
  webServer: [
    {
      // A test OpenID Connect provider, so single sign-on is exercised for real.
      command: "node e2e/support/oidc-provider.mjs",
      url: `http://localhost:${OIDC_PORT}/.well-known/openid-configuration`,
      env: { OIDC_PORT: String(OIDC_PORT) },
      reuseExistingServer: false,
    },
    {
      command: `rm -rf ${DATA_DIR} && node scripts/start.mjs`,
      url: `http://localhost:${PORT}/api/health`,
      timeout: 300_000,
      reuseExistingServer: false,
      env: {
        PORT: String(PORT),
        CAIRN_DATA_DIR: DATA_DIR,
        OIDC_ISSUER: `http://localhost:${OIDC_PORT}`,
        OIDC_CLIENT_ID: "cairn-e2e",
        OIDC_CLIENT_SECRET: "cairn-e2e-secret",
        OIDC_NAME: "Test IdP",
        // The alerts worker reads its rules every 2 s, so e2e/alerts sees a rule fire without waiting 30 s.
        CAIRN_ALERT_INTERVAL_MS: "2000",
        // The drift worker computes every 2 s, so e2e/deployments/drift.spec.ts sees drift without waiting a minute.
        CAIRN_DRIFT_INTERVAL_MS: "2000",
        // Replicas' CPU and memory are sampled every 2 s, so e2e/deployments/replica-usage.spec.ts sees samples at once.
        CAIRN_SERVING_SAMPLE_INTERVAL_MS: "2000",
        // The alerts spec's webhook receiver listens on loopback, where webhooks are otherwise not sent.
        CAIRN_WEBHOOK_ALLOWED_HOSTS: "127.0.0.1,localhost",
      },
      stdout: "pipe",
    },
  ],
});
