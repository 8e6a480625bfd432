// What the per-minute rollups add to each gateway answer: the cost of recordInference (a map lookup and a few
// additions), measured in batches over 100 deployments, with the cells of a busy hour already in memory.
// Run: npx tsx bench/inference-rollups.ts [--answers 2000000]
import { recordInference, resetInferenceRollups } from "../server/observability/inference-rollups";

const flag = process.argv.indexOf("--answers");
const answers = flag > 0 ? Number(process.argv[flag + 1]) : 2_000_000;
const ids = Array.from({ length: 100 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
const start = Date.UTC(2026, 11, 1, 12);
// An hour of minutes for every deployment, as the map holds when writes lag.
for (let m = 0; m < 60; m++) for (const id of ids) recordInference({ deploymentId: id, status: 200, seconds: 0.003 }, start + m * 60_000);
const batch = 10_000;
const perAnswerNs: number[] = [];
for (let done = 0; done < answers; done += batch) {
  const t = performance.now();
  for (let i = 0; i < batch; i++) {
    recordInference({ deploymentId: ids[i % ids.length]!, status: i % 50 === 0 ? 503 : 200, seconds: (i % 997) / 1e5 }, start + 59 * 60_000 + (i % 60_000));
  }
  perAnswerNs.push(((performance.now() - t) * 1e6) / batch);
}
perAnswerNs.sort((a, b) => a - b);
const q = (p: number) => perAnswerNs[Math.min(perAnswerNs.length - 1, Math.floor(p * perAnswerNs.length))]!.toFixed(0);
console.log(`recordInference over ${answers} answers (batches of ${batch}): p50 ${q(0.5)} ns, p99 ${q(0.99)} ns per answer (target: well under 1 ms = 1,000,000 ns)`);
resetInferenceRollups();
