import net from "node:net";
import path from "node:path";
import { defineConfig } from "vitest/config";
import type { ViteUserConfig } from "vitest/config";

// The suite runs twice: on embedded PGlite and on a real PostgreSQL server (each test file gets its own
// uniquely named database, dropped afterwards). CAIRN_TEST_REQUIRE_PG=1 (CI) makes a missing server an error.
const PG_URL = process.env.CAIRN_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 5432) });
    socket.setTimeout(1000);
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => { socket.destroy(); resolve(false); });
  });
}

export default defineConfig(async (): Promise<ViteUserConfig> => {
  const pgUp = await reachable(PG_URL);
  if (!pgUp && process.env.CAIRN_TEST_REQUIRE_PG === "1") throw new Error(`PostgreSQL is not reachable at ${PG_URL}`);
  if (!pgUp) console.warn(`[vitest] PostgreSQL not reachable at ${PG_URL}: running the PGlite pass only`);
  return {
    resolve: { alias: { "@": path.resolve(__dirname) } },
    test: {
      include: ["**/*.test.ts"],
      // *.cluster.test.ts need the local Kubernetes cluster: `npm run test:cluster` (vitest.cluster.config.ts).
      exclude: ["node_modules/**", "e2e/**", ".next/**", ".data/**", "**/*.cluster.test.ts"],
      testTimeout: 30_000,
      env: { NEXTAUTH_SECRET: "vitest-only-secret-0123456789abcdef", CAIRN_DATA_DIR: ".data-test" },
      hookTimeout: 60_000,
      projects: [
        { extends: true, test: { name: "pglite", env: { CAIRN_TEST_DB: "pglite" } } },
        ...(pgUp ? [{ extends: true, test: { name: "postgres", env: { CAIRN_TEST_DB: "postgres", CAIRN_TEST_PG_URL: PG_URL } } }] : []),
      ] as NonNullable<ViteUserConfig["test"]>["projects"],
    },
  };
});
