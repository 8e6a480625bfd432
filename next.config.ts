import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Embedded Postgres (WASM) and the pg driver load native/WASM assets at run time, and the Kubernetes
  // client pulls in node-only transports (ws, node-fetch): keep them external.
  serverExternalPackages: ["@electric-sql/pglite", "pg", "prom-client", "@kubernetes/client-node"],
  poweredByHeader: false,
  experimental: {
    // forbidden() renders app/forbidden.tsx with a real 403 status.
    authInterrupts: true,
  },
};

export default nextConfig;
