// Alert rules on p99 latency and error share, the data side: one rule read from Cairn's rollups, and the same rule
// exported for Prometheus — checked with Prometheus's own promtool (`check rules`, and `test rules` on the same
// traffic the rollups saw: it fires where Cairn says the rule is breached, and not where Cairn says it is not).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deployments, inferenceMinutes, registeredModels, teams } from "@/db/schema";
import { demoDatabase } from "../testing/fixtures";
import { flushInferenceRollups, recordInference, resetInferenceRollups } from "./inference-rollups";
import { findBinary } from "./prometheus";
import type { ServingRule } from "./serving-signals";
import { checkServingRule, prometheusRuleFile, readSignalFromRollups, toPrometheusAlertingRule } from "./serving-signals";

const db = demoDatabase();
const promtool = findBinary("promtool", (process.env.PATH ?? "").split(path.delimiter).filter(Boolean));
let dep = { id: "", version: 0 };
const NOW = Date.UTC(2026, 11, 1, 12, 10, 30) / 1000; // 30 s into minute 10
const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-rules-"));

beforeAll(async () => {
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  const now = Date.now();
  const [model] = await db().insert(registeredModels).values({ teamId: team!.id, name: `signals-${now}`, creationTime: now, lastUpdatedTime: now }).returning({ id: registeredModels.id });
  const [made] = await db().insert(deployments).values({
    teamId: team!.id, modelId: model!.id, modelName: `signals-${now}`, version: 2, environment: "production", status: "ready",
    replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, createdByEmail: "mle@example.com",
  }).returning({ id: deployments.id, version: deployments.version });
  dep = made!;
});

beforeEach(async () => {
  resetInferenceRollups();
  await db().delete(inferenceMinutes);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Minutes 0–10 of the hour: 20 answers a minute, `errors` of them 5xx, each taking `ms`. */
function traffic(opts: { errors: number; ms: number; version?: number }): void {
  for (let minute = 0; minute <= 10; minute++) {
    for (let i = 0; i < 20; i++) {
      recordInference({ deploymentId: dep.id, version: opts.version, status: i < opts.errors ? 503 : 200, seconds: opts.ms / 1000 }, (NOW - 630 + minute * 60 + i) * 1000);
    }
  }
}

const rule = (over: Partial<ServingRule> = {}): ServingRule => ({ signal: "error_share", deploymentId: dep.id, threshold: 0.05, windowSeconds: 300, minRequests: 20, ...over });
const read = (r: ServingRule, extra: { version?: number } = {}) => readSignalFromRollups(db(), { ...r, deploymentVersion: dep.version, ...extra }, NOW);

describe("reading a rule from Cairn's rollups", () => {
  it("error share and p99 over the last minutes, the minute in progress included, and nothing older", async () => {
    traffic({ errors: 2, ms: 120 });
    // An old burst of errors, 20 minutes ago: outside every window below.
    for (let i = 0; i < 50; i++) recordInference({ deploymentId: dep.id, status: 500, seconds: 0.001 }, (NOW - 1200) * 1000);
    await flushInferenceRollups(db());
    // 5 minutes: minutes 6–10, 100 answers, 10 of them 5xx.
    expect(await read(rule())).toEqual({ signal: "error_share", value: 0.1, requests: 100, window_seconds: 300, source: "cairn", breaching: true });
    expect((await read(rule({ threshold: 0.1 }))).breaching).toBe(false);
    // Fewer answers than the rule asks for: no verdict either way.
    expect(await read(rule({ windowSeconds: 60, minRequests: 21 }))).toMatchObject({ requests: 20, value: 0.1, breaching: null });
    // p99 of answers all in the (100, 150] ms bucket.
    const p99 = await read(rule({ signal: "latency_p99_ms", threshold: 140 }));
    expect(p99).toMatchObject({ requests: 100, value: 149.5, breaching: true });
    expect((await read(rule({ signal: "latency_p99_ms", threshold: 150 }))).breaching).toBe(false);
  });

  it("reads one version's answers apart (a canary beside its baseline), and says nothing without answers", async () => {
    traffic({ errors: 0, ms: 5 });
    traffic({ errors: 5, ms: 5, version: 7 });
    expect((await read(rule())).value).toBe(0.125);
    expect(await read(rule(), { version: dep.version })).toMatchObject({ value: 0, breaching: false });
    expect(await read(rule(), { version: 7 })).toMatchObject({ value: 0.25, requests: 100, breaching: true });
    expect(await read(rule(), { version: 8 })).toMatchObject({ value: null, requests: 0, breaching: null });
  });

  it("refuses a rule it cannot read, naming what to change", async () => {
    expect(() => checkServingRule(rule({ threshold: 5 }))).toThrow(/threshold must be a share from 0 to 1/);
    expect(() => checkServingRule(rule({ windowSeconds: 90 }))).toThrow(/window_seconds must be whole minutes/);
    expect(() => checkServingRule(rule({ minRequests: 0 }))).toThrow(/min_requests/);
    await expect(read(rule({ signal: "latency_p50" as never }))).rejects.toMatchObject({ code: "invalid_input", fields: { signal: [expect.stringContaining("error_share")] } });
    expect(() => toPrometheusAlertingRule({ ...rule(), name: "high errors", team: "churn", forSeconds: 60 })).toThrow(/letters, digits and underscores/);
  });
});

describe.skipIf(!promtool)("the same rule for Prometheus", () => {
  const labels = () => `team="churn",deployment="${dep.id}"`;
  /** The gateway's counters as Prometheus would scrape them for traffic({errors, ms}): a sample a minute. */
  const series = (errors: number, ms: number) => {
    const le = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"];
    return [
      { series: `platform_inference_answers_total{${labels()}}`, values: "0+20x15" },
      { series: `platform_inference_errors_total{${labels()}}`, values: `0+${errors}x15` },
      ...le.map((b) => ({ series: `platform_inference_latency_seconds_bucket{${labels()},le="${b}"}`, values: b === "+Inf" || Number(b) >= ms / 1000 ? "0+20x15" : "0+0x15" })),
    ];
  };

  function promtoolTest(rules: ReturnType<typeof toPrometheusAlertingRule>[], input: ReturnType<typeof series>, expect_: { alertname: string; firing: boolean }[]): { status: number | null; output: string } {
    const rulesFile = path.join(dir, "rules.json");
    writeFileSync(rulesFile, prometheusRuleFile(rules));
    const check = spawnSync(promtool!, ["check", "rules", rulesFile], { encoding: "utf8" });
    if (check.status !== 0) return { status: check.status, output: check.stdout + check.stderr };
    const tests = {
      rule_files: [rulesFile],
      evaluation_interval: "1m",
      tests: [{
        interval: "1m",
        input_series: input,
        alert_rule_test: expect_.map(({ alertname, firing }) => {
          const r = rules.find((x) => x.alert === alertname)!;
          return { eval_time: "12m", alertname, exp_alerts: firing ? [{ exp_labels: r.labels, exp_annotations: r.annotations }] : [] };
        }),
      }],
    };
    const testFile = path.join(dir, "tests.json");
    writeFileSync(testFile, JSON.stringify(tests));
    const run = spawnSync(promtool!, ["test", "rules", testFile], { encoding: "utf8" });
    return { status: run.status, output: run.stdout + run.stderr };
  }

  it("fires in Prometheus exactly where Cairn's rollups say the rule is breached", async () => {
    traffic({ errors: 2, ms: 120 });
    await flushInferenceRollups(db());
    const defs = [
      { ...rule(), name: "ErrorShareOver5", threshold: 0.05 },
      { ...rule(), name: "ErrorShareOver10", threshold: 0.1 },
      { ...rule(), name: "ErrorsTooFewAnswers", threshold: 0.05, minRequests: 101 },
      { ...rule(), name: "P99Over100ms", signal: "latency_p99_ms" as const, threshold: 100 },
      { ...rule(), name: "P99Over300ms", signal: "latency_p99_ms" as const, threshold: 300 },
    ];
    const exported = defs.map((d) => toPrometheusAlertingRule({ ...d, team: "churn", forSeconds: 120 }));
    expect(exported[0]!.expr).toBe(`(sum(increase(platform_inference_errors_total{deployment="${dep.id}"}[300s])) / sum(increase(platform_inference_answers_total{deployment="${dep.id}"}[300s]))) > 0.05 and on() (sum(increase(platform_inference_answers_total{deployment="${dep.id}"}[300s]))) >= 20`);
    // Cairn's verdicts on its rollups…
    const verdicts = await Promise.all(defs.map(async (d) => ({ alertname: d.name, firing: (await read(d)).breaching === true })));
    expect(verdicts.map((v) => v.firing)).toEqual([true, false, false, true, false]);
    // …are Prometheus's on the same traffic.
    const result = promtoolTest(exported, series(2, 120), verdicts);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });

  it("the check can fail: promtool refuses an expectation the rule does not meet", async () => {
    const exported = [toPrometheusAlertingRule({ ...rule(), name: "ErrorShareOver5", team: "churn", forSeconds: 120 })];
    // No 5xx at all: expecting the alert to fire must fail.
    const result = promtoolTest(exported, series(0, 5), [{ alertname: "ErrorShareOver5", firing: true }]);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/FAILED/);
  });
});
