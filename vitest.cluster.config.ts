import path from "node:path";
import { defineConfig } from "vitest/config";

// The cluster suite (`npm run test:cluster`): tests against the local Kubernetes cluster of `npm run cluster`,
// once (a test that needs a database uses embedded PGlite), one file at a time, with the cluster's pace in the timeouts.
export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["**/*.cluster.test.ts"],
    exclude: ["node_modules/**", "e2e/**", ".next/**", ".data/**"],
    fileParallelism: false,
    testTimeout: 120_000,
    env: { NEXTAUTH_SECRET: "vitest-only-secret-0123456789abcdef", CAIRN_DATA_DIR: ".data-test", CAIRN_TEST_DB: "pglite" },
    hookTimeout: 120_000,
  },
});
