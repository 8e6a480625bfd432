import path from "node:path";
import { defineConfig } from "vitest/config";

// The cluster suite (`npm run test:cluster`): tests against the local Kubernetes cluster of `npm run cluster`,
// once (no database passes: they need none), one file at a time, with the cluster's pace in the timeouts.
export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["**/*.cluster.test.ts"],
    exclude: ["node_modules/**", "e2e/**", ".next/**", ".data/**"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
