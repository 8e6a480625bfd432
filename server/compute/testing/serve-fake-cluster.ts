// Runs the in-test Kubernetes API server on its own, for looking at the kubernetes backend by hand:
//   node --import tsx server/compute/testing/serve-fake-cluster.ts /tmp/fake-kubeconfig [--kueue]
// then start Cairn with CAIRN_COMPUTE_BACKEND=kubernetes KUBECONFIG=/tmp/fake-kubeconfig. A test double,
// not a cluster: pods "run" only when a test drives them, so jobs stay pending here.
import { writeFileSync } from "node:fs";
import { FakeCluster } from "./fake-k8s";

const out = process.argv[2];
if (!out) throw new Error("usage: serve-fake-cluster.ts <kubeconfig path> [--kueue]");
const cluster = new FakeCluster();
cluster.kueue = process.argv.includes("--kueue");
await cluster.listen();
writeFileSync(out, cluster.kubeConfig().exportConfig());
console.log(`fake Kubernetes API server up; kubeconfig written to ${out}`);
