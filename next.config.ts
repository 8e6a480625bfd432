import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Embedded Postgres (WASM) and the pg driver load native/WASM assets at run time: keep them external.
  serverExternalPackages: ["@electric-sql/pglite", "pg", "prom-client"],
  poweredByHeader: false,
  experimental: {
    // forbidden() renders app/forbidden.tsx with a real 403 status.
    authInterrupts: true,
  },
};

export default nextConfig;
