// The alert REST routes as a client sees them: a rule stored and listed, bad input → 400 naming the field with
// nothing stored, the Prometheus rule file as YAML, and acknowledge of an alert that is not firing → 409.
import { count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { alertRules, alerts, deployments, registeredModels, teams } from "@/db/schema";
import { call, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { GET as listRules, POST as createRule } from "./route";
import { GET as prometheus } from "./prometheus/route";
import { POST as silence } from "./[id]/silence/route";
import { POST as acknowledge } from "../alerts/[id]/acknowledge/route";
import { GET as listAlerts } from "../alerts/route";

// The local receivers these tests start listen on loopback, where webhooks are otherwise not sent (server/http/outbound.ts).
process.env.CAIRN_WEBHOOK_ALLOWED_HOSTS = "127.0.0.1,localhost";

const db = demoDatabase();
const stored = async () => (await db().select({ n: count() }).from(alertRules))[0]!.n;

describe("/api/v1/alert-rules", () => {
  it("stores a rule, lists it, and refuses bad input with 400 and nothing stored", async () => {
    const token = await tokenFor(db(), DEMO.mle, "churn");
    const made = await call(createRule, { method: "POST", token, path: "/api/v1/alert-rules", body: { name: "FailingJobs", kind: "job_failures", threshold: 2, window_seconds: 900, emails: ["oncall@example.com"] } });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ name: "FailingJobs", team: "churn", kind: "job_failures", threshold: 2, window_seconds: 900, for_seconds: 0, state: "ok", emails: ["oncall@example.com"] });
    const before = await stored();
    for (const body of ["{not json", { name: "X", kind: "budget_share", threshold: -1 }, { name: "X", kind: "job_failures", threshold: 1, for_seconds: "soon" }, { name: "X", kind: "job_failures", threshold: 1, team: "churn", extra: 1 }]) {
      const res = await call(createRule, { method: "POST", token, path: "/api/v1/alert-rules", body });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: { code: "invalid_input", message: expect.any(String) } });
    }
    const named = await call(createRule, { method: "POST", token, path: "/api/v1/alert-rules", body: { name: "X", kind: "job_failures", threshold: 1, for_seconds: "soon" } });
    expect((named.json as { error: { fields: Record<string, string[]> } }).error.fields).toHaveProperty("for_seconds");
    expect(await stored()).toBe(before);
    const listed = await call(listRules, { token, path: "/api/v1/alert-rules?team=churn" });
    expect((listed.json as { alert_rules: { name: string }[] }).alert_rules.map((r) => r.name)).toContain("FailingJobs");
    expect((await call(listRules, { token, path: "/api/v1/alert-rules?team=fraud" })).status).toBe(404);
    const silenceBad = await call(silence, { method: "POST", token, path: "/x", params: { id: (made.json as { id: string }).id }, body: { until: "tomorrow" } });
    expect(silenceBad.status).toBe(400);
  });

  it("answers the team's serving rules as a Prometheus rule file, and acknowledges only a firing alert", async () => {
    const token = await tokenFor(db(), DEMO.lead, "churn");
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const now = Date.now();
    const [model] = await db().insert(registeredModels).values({ teamId: churn!.id, name: `prom-${now}`, creationTime: now, lastUpdatedTime: now }).returning({ id: registeredModels.id });
    const [dep] = await db().insert(deployments).values({
      teamId: churn!.id, modelId: model!.id, modelName: `prom-${now}`, version: 1, environment: "staging", status: "ready", replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, createdByEmail: DEMO.mle,
    }).returning({ id: deployments.id });
    const made = await call(createRule, { method: "POST", token, path: "/api/v1/alert-rules", body: { name: "SlowChurn", kind: "latency_p99_ms", deployment_id: dep!.id, threshold: 250, for_seconds: 120 } });
    expect(made.status).toBe(201);
    const file = await call(prometheus, { token, path: "/api/v1/alert-rules/prometheus?team=churn" });
    expect(file.status).toBe(200);
    expect(file.response.headers.get("content-type")).toContain("application/yaml");
    expect(file.json).toMatchObject({ groups: [{ name: "cairn-churn", rules: [{ alert: "SlowChurn", for: "120s", labels: { team: "churn", signal: "latency_p99_ms" } }] }] });
    const [resolved] = await db().insert(alerts).values({ ruleId: (made.json as { id: string }).id, teamId: churn!.id, state: "resolved", value: 1, threshold: 250, startedAt: new Date(), resolvedAt: new Date() }).returning({ id: alerts.id });
    const ack = await call(acknowledge, { method: "POST", token, path: "/x", params: { id: resolved!.id } });
    expect(ack.status).toBe(409);
    const list = await call(listAlerts, { token, path: "/api/v1/alerts?team=churn&state=resolved" });
    expect((list.json as { alerts: { id: string }[] }).alerts.map((a) => a.id)).toEqual([resolved!.id]);
    expect((await call(listAlerts, { token, path: "/api/v1/alerts?state=burning" })).status).toBe(400);
  });
});
