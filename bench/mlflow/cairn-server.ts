// A Cairn server for the benches when no `next build` is at hand: node:http in front of the MLflow API's fast lane
// (server/mlflow/http-lane.ts), the very code that answers /api/2.0/mlflow/… ahead of Next's routing in a running
// Cairn, so the figures are those of `next start` (bench.ts's `--cairn next`, the default) for the MLflow calls.
// It adds a `server-timing: app;dur=…` header (the time from the request handled to its answer written), which
// bench/search-fairness.ts splits latency with, and answers GET /health for the bench's readiness check.
//
//   DATABASE_URL=… CAIRN_DATA_DIR=… node --import tsx bench/mlflow/cairn-server.ts --port 3391
import http from "node:http";
import type { OutgoingHttpHeaders } from "node:http";
import { handleMlflowHttp } from "@/server/mlflow/http-lane";
import { getReadyDb } from "@/server/bootstrap";
import { option } from "../args";

const PORT = Number(option("port", "3391"));

async function main(): Promise<void> {
  await getReadyDb();
  const server = http.createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200).end("ok");
      return;
    }
    const started = performance.now();
    const writeHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => http.ServerResponse;
    (res as { writeHead: unknown }).writeHead = (status: number, headers?: OutgoingHttpHeaders) =>
      writeHead(status, { ...headers, "server-timing": `app;dur=${(performance.now() - started).toFixed(2)}` });
    if (!handleMlflowHttp(req, res)) res.writeHead(404).end();
  });
  server.keepAliveTimeout = 60_000;
  server.listen(PORT, "127.0.0.1", () => console.log(`cairn bench server on ${PORT}`));
}

// Exit on SIGTERM (the benches' stop) rather than die by it, so `node --cpu-prof` writes its profile.
process.on("SIGTERM", () => process.exit(0));

void main();
