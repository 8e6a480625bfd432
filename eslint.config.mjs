import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

// The layer rules of ARCHITECTURE.md ("may import"), enforced here.
const serverOnly = {
  group: ["@/server/*", "@/db/*", "**/server/*", "**/db/*"],
  message: "components/ and lib/ are isomorphic: they never import server/ or db/.",
};

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  globalIgnores([".next/**", "out/**", "build/**", "next-env.d.ts", ".data/**", "db/migrations/**", "playwright-report/**", "test-results/**"]),
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["components/**", "lib/**"],
    rules: { "no-restricted-imports": ["error", { patterns: [serverOnly] }] },
  },
  {
    files: ["server/**"],
    ignores: ["server/auth/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["next", "next/*", "next-auth", "next-auth/*"], message: "Services never import next/*; only server/auth may use next-auth." },
          { group: ["@/app/*", "@/components/*"], message: "server/ never imports app/ or components/." },
        ],
      }],
    },
  },
  {
    files: ["**/*.ts", "**/*.tsx"],
    ignores: ["server/env.ts", "db/client.ts", "**/*.test.ts", "scripts/**", "e2e/**", "bench/**", "playwright.config.ts", "playwright.cluster.config.ts", "e2e-cluster/**", "vitest.config.ts", "vitest.cluster.config.ts", "drizzle.config.ts", "db/test-db.ts", "db/migrate-cli.ts", "instrumentation.ts"],
    rules: {
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Read configuration through server/env.ts (db/client.ts for the database)." }],
    },
  },
]);
