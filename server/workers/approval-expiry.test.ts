// Approval expiry, a worker loop: state in (pending requests, some past their deadline), state out (those
// recorded expired, the others untouched). Reads never write: until the worker passes, a request past its
// deadline reads as expired, is filtered as expired, and cannot be decided.
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { approvalRequests, registeredModels, teams, users } from "@/db/schema";
import type { ApprovalEvidence, ApprovalSpec } from "@/db/schema";
import { approveRequest, getApproval, listApprovals } from "../approvals/service";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { ApprovalExpiryLoop } from "./approval-expiry";

const db = demoDatabase();
const HOUR = 3600_000;
let overdue = "";
let current = "";
let foreign = "";

async function request(team: string, expiresAt: Date): Promise<string> {
  const [t] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, team));
  const [mle] = await db().select({ id: users.id }).from(users).where(eq(users.email, DEMO.mle));
  const now = Date.now();
  const [model] = await db().insert(registeredModels).values({ teamId: t!.id, name: `expiry-${team}-${now}-${Math.random()}`, creationTime: now, lastUpdatedTime: now }).returning({ id: registeredModels.id, name: registeredModels.name });
  const spec = { replicas: 1, auto_scale: false, min_replicas: 1, max_replicas: 1, traffic: 100, alias: null } as unknown as ApprovalSpec;
  const evidence = { candidate: { content_digest: null } } as unknown as ApprovalEvidence;
  const [row] = await db().insert(approvalRequests).values({
    teamId: t!.id, modelId: model!.id, modelName: model!.name, version: 1, spec, evidence, requestedBy: mle!.id, requestedByEmail: DEMO.mle,
    createdAt: new Date(expiresAt.getTime() - 7 * 24 * HOUR), expiresAt,
  }).returning({ id: approvalRequests.id });
  return row!.id;
}

const stored = async (id: string) => (await db().select({ status: approvalRequests.status, decidedAt: approvalRequests.decidedAt }).from(approvalRequests).where(eq(approvalRequests.id, id)))[0]!;

beforeAll(async () => {
  overdue = await request("churn", new Date(Date.now() - HOUR));
  current = await request("churn", new Date(Date.now() + HOUR));
  foreign = await request("fraud", new Date(Date.now() - 2 * HOUR));
});

describe("approval expiry", () => {
  it("reads show a request past its deadline as expired without writing it", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    expect(await getApproval(lead, overdue)).toMatchObject({ status: "expired", decided_at: expect.any(String) });
    const pending = (await listApprovals(lead, { team: "churn", status: "pending" })).approvals.map((a) => a.id);
    expect(pending).toContain(current);
    expect(pending).not.toContain(overdue);
    expect((await listApprovals(lead, { team: "churn", status: "expired" })).approvals.map((a) => a.id)).toContain(overdue);
    // Nothing was written by those GETs.
    expect(await stored(overdue)).toEqual({ status: "pending", decidedAt: null });
    await expect(approveRequest(lead, overdue, "late")).rejects.toMatchObject({ code: "conflict", message: expect.stringContaining("expired at") });
  });

  it("the worker records every overdue request as expired (any team) at its deadline, and leaves the rest", async () => {
    await new ApprovalExpiryLoop(db(), 60_000).tick();
    const gone = await stored(overdue);
    expect(gone.status).toBe("expired");
    const [row] = await db().select({ expiresAt: approvalRequests.expiresAt, comment: approvalRequests.comment }).from(approvalRequests).where(eq(approvalRequests.id, overdue));
    expect(gone.decidedAt!.getTime()).toBe(row!.expiresAt.getTime());
    expect(row!.comment).toBe("no decision before the request expired");
    expect((await stored(foreign)).status).toBe("expired");
    expect(await stored(current)).toEqual({ status: "pending", decidedAt: null });
    // A second pass changes nothing.
    await new ApprovalExpiryLoop(db(), 60_000).tick();
    expect(await stored(current)).toEqual({ status: "pending", decidedAt: null });
  });
});
