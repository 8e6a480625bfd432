// What the per-minute API rollups add to each API request: the cost of recordApiRequest (templating the endpoint,
// a map lookup and a few additions), measured in batches over 80 endpoint templates, with the cells of a busy
// hour already in memory.
// Run: npx tsx bench/api-rollups.ts [--requests 2000000]
import { recordApiRequest, resetApiRollups } from "../server/observability/api-rollups";

const flag = process.argv.indexOf("--requests");
const requests = flag > 0 ? Number(process.argv[flag + 1]) : 2_000_000;
const endpoints = Array.from({ length: 80 }, (_, i) => `/api/v1/resource-${i}/[id]/sub`);
const methods = ["GET", "POST", "PATCH", "DELETE"];
const statuses = [200, 201, 404, 500];
const start = Date.UTC(2026, 11, 1, 12);
for (let m = 0; m < 60; m++) for (const endpoint of endpoints) recordApiRequest({ endpoint, method: "GET", status: 200, seconds: 0.003 }, start + m * 60_000);
const batch = 10_000;
const perRequestNs: number[] = [];
for (let done = 0; done < requests; done += batch) {
  const t = performance.now();
  for (let i = 0; i < batch; i++) {
    recordApiRequest({ endpoint: endpoints[i % endpoints.length]!, method: methods[i % 4]!, status: statuses[i % 7 === 0 ? 3 : i % 4]!, seconds: (i % 997) / 1e5 }, start + 59 * 60_000 + (i % 60_000));
  }
  perRequestNs.push(((performance.now() - t) * 1e6) / batch);
}
perRequestNs.sort((a, b) => a - b);
const q = (p: number) => perRequestNs[Math.min(perRequestNs.length - 1, Math.floor(p * perRequestNs.length))]!.toFixed(0);
console.log(`recordApiRequest over ${requests} requests (batches of ${batch}): p50 ${q(0.5)} ns, p99 ${q(0.99)} ns per request (target: well under 1 ms = 1,000,000 ns)`);
resetApiRollups();
