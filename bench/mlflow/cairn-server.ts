// A Cairn server for the side-by-side bench when no `next build` is at hand: node:http in front of the same
// MLflow adapter the Next route calls (app/api/2.0/mlflow/[...path]/route.ts → handleMlflow). It leaves out
// Next's own routing cost, so bench.ts's `--cairn next` (next start on a build) is the figure users get.
//
//   DATABASE_URL=… CAIRN_DATA_DIR=… node --import tsx bench/mlflow/cairn-server.ts --port 3391
import http from "node:http";
import { handleMlflow } from "@/server/mlflow/handler";
import { getReadyDb } from "@/server/bootstrap";
import { option } from "../args";

const PORT = Number(option("port", "3391"));
const PREFIX = "/api/2.0/mlflow/";

async function toRequest(req: http.IncomingMessage): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
  const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
  return new Request(`http://${req.headers.host ?? "127.0.0.1"}${req.url}`, { method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : body });
}

async function main(): Promise<void> {
  await getReadyDb();
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    if (url === "/health") {
      res.writeHead(200).end("ok");
      return;
    }
    if (!url.startsWith(PREFIX)) {
      res.writeHead(404).end();
      return;
    }
    const path = url.slice(PREFIX.length).split("?")[0]!.split("/").map(decodeURIComponent);
    const started = performance.now();
    toRequest(req)
      .then((request) => handleMlflow(request, path))
      .then(async (response) => {
        const body = Buffer.from(await response.arrayBuffer());
        // How long the server took, from the request's first byte handled to its answer (benches split latency with it).
        const serverTiming = `app;dur=${(performance.now() - started).toFixed(2)}`;
        res.writeHead(response.status, { ...Object.fromEntries(response.headers), "content-length": String(body.length), "server-timing": serverTiming });
        res.end(body);
      })
      .catch((err: unknown) => {
        console.error(err);
        res.writeHead(500).end();
      });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(PORT, "127.0.0.1", () => console.log(`cairn bench server on ${PORT}`));
}

// Exit on SIGTERM (the benches' stop) rather than die by it, so `node --cpu-prof` writes its profile.
process.on("SIGTERM", () => process.exit(0));

void main();
