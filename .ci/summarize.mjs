// Totals over all suites: vitest (both databases), Playwright, the cluster suite (vitest against the local
// Kubernetes cluster), the Python SDK's pytest suite (JUnit XML), plus lint, typecheck and build as one check each.
import { existsSync, readFileSync } from "node:fs";

const [checksFailed = "0", buildFailed = "0", unitRc = "0", e2eRc = "0", clusterRc = "0", sdkRc = "0", e2eClusterRc = "0"] = process.argv.slice(2);
let passed = 0;
let failed = 0;
const lines = [];

function read(path) {
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : null;
}

function foldVitest(file, label, rc) {
  const vitest = read(file);
  if (vitest) {
    passed += vitest.numPassedTests;
    failed += vitest.numFailedTests + (vitest.numTotalTestSuites > 0 && vitest.numFailedTestSuites > 0 && vitest.numFailedTests === 0 ? vitest.numFailedTestSuites : 0);
    lines.push(`${label}: ${vitest.numPassedTests} passed, ${vitest.numFailedTests} failed`);
    if (vitest.numTotalTests === 0) { failed += 1; lines.push(`${label}: no test ran (exit ${rc})`); }
  } else {
    failed += 1;
    lines.push(`${label}: no report (exit ${rc})`);
  }
}

foldVitest("reports/vitest.json", "unit/integration", unitRc);

function foldPlaywright(file, label, rc) {
  const report = read(file);
  if (!report) {
    failed += 1;
    lines.push(`${label}: no report (exit ${rc})`);
    return;
  }
  const s = report.stats;
  passed += s.expected + s.flaky;
  failed += s.unexpected;
  lines.push(`${label}: ${s.expected + s.flaky} passed, ${s.unexpected} failed, ${s.skipped} skipped`);
  if (s.skipped > 0) { failed += s.skipped; lines.push(`${label}: skipped tests count as failures`); }
  // A suite that ran nothing (the web server could not start, a config error) failed, whatever it reports.
  if (s.expected + s.flaky + s.unexpected + s.skipped === 0) { failed += 1; lines.push(`${label}: no test ran (exit ${rc})`); }
}

foldPlaywright("reports/e2e.json", "browser", e2eRc);

foldVitest("reports/cluster.json", "cluster", clusterRc);
foldPlaywright("reports/e2e-cluster.json", "browser on the cluster", e2eClusterRc);

// pytest's JUnit XML: the <testsuite> element's counts (skips count as failures: every SDK test must run).
const junit = existsSync("reports/python-sdk.xml") ? readFileSync("reports/python-sdk.xml", "utf8") : null;
const suite = junit && /<testsuite\b([^>]*)>/.exec(junit);
if (suite) {
  const count = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite[1])?.[1] ?? 0);
  const [tests, failures, errors, skipped] = ["tests", "failures", "errors", "skipped"].map(count);
  const bad = failures + errors + skipped;
  passed += tests - bad;
  failed += bad;
  lines.push(`python sdk: ${tests - bad} passed, ${bad} failed (${failures} failures, ${errors} errors, ${skipped} skipped)`);
  if (tests === 0) { failed += 1; lines.push(`python sdk: no test ran (exit ${sdkRc})`); }
} else {
  failed += 1;
  lines.push(`python sdk: no report (exit ${sdkRc})`);
}

const checks = 3;
const checkFailures = Number(checksFailed) + Number(buildFailed);
passed += checks - checkFailures;
failed += checkFailures;
lines.push(`lint + typecheck + build: ${checks - checkFailures} passed, ${checkFailures} failed`);

for (const l of lines) console.log(l);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
