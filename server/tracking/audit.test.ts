// Tracking changes leave audit rows (read back through the audit service as an admin would).
import { beforeAll, describe, expect, it } from "vitest";
import type { AuditEventDto } from "@/lib/schemas/audit";
import { auditQuerySchema } from "@/lib/schemas/audit";
import { listAudit } from "../audit/service";
import type { Run } from "../mlflow/test-client";
import { createExperiment, createRun, post } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";

const db = demoDatabase();
let ds = "";
let mle = "";

beforeAll(async () => {
  [ds, mle] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn")]);
});

async function audit(query: Record<string, string | number>): Promise<AuditEventDto[]> {
  const admin = await ctxFor(db(), DEMO.admin);
  return (await listAudit(admin, auditQuerySchema.parse({ limit: 500, ...query }))).events;
}

describe("tracking audit trail", () => {
  it("records experiment create and delete, and run create, with actor and team", async () => {
    const exp = await createExperiment(ds, `audited-${Date.now()}`);
    const run = await createRun(ds, exp, { run_name: "audited-run" });
    expect((await post(mle, "experiments/delete", { experiment_id: exp })).status).toBe(200);

    const events = await audit({ team: "churn" });
    const at = (action: string, target: string) => events.filter((e) => e.action === action && e.target === target);
    expect(at("experiment.create", `experiment:${exp}`)).toEqual([expect.objectContaining({ actor: expect.stringContaining(DEMO.ds), team: "churn", outcome: "allowed" })]);
    expect(at("run.create", `run:${run.run_id}`)).toEqual([expect.objectContaining({ actor: expect.stringContaining(DEMO.ds), team: "churn", outcome: "allowed", details: expect.objectContaining({ name: "audited-run" }) })]);
    expect(at("experiment.delete", `experiment:${exp}`)).toEqual([expect.objectContaining({ actor: expect.stringContaining(DEMO.mle), outcome: "allowed" })]);
  });

  it("records a refused delete as denied, and nothing as allowed", async () => {
    const exp = await createExperiment(ds, `audited-denied-${Date.now()}`);
    expect((await post(ds, "experiments/delete", { experiment_id: exp })).status).toBe(403);
    const events = (await audit({ action: "experiment.delete" })).filter((e) => e.target === `experiment:${exp}`);
    expect(events).toEqual([expect.objectContaining({ outcome: "denied", actor: expect.stringContaining(DEMO.ds) })]);
  });

  it("records the creation of a team's Default experiment on first use of experiment 0", async () => {
    const fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const res = await post<{ run: Run }>(fraud, "runs/create", { experiment_id: "0" });
    expect(res.status).toBe(200);
    const id = res.json.run.info.experiment_id;
    const events = (await audit({ team: "fraud", action: "experiment.create" })).filter((e) => e.target === `experiment:${id}`);
    expect(events).toEqual([expect.objectContaining({ outcome: "allowed", team: "fraud", details: expect.objectContaining({ name: "Default" }) })]);
  });
});
