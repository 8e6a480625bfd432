// Production promotion, a worker loop (./runtime.ts). A production deployment that serves becomes the model's
// production: the team's protected production alias moves to its version and the model's older live production
// deployments stop (their replicas drain, then end). A staging rollback that serves retires the deployment it
// rolled back from. Each is recorded as the decision of whoever made it — the team lead who approved the
// deploy, the member who rolled back — carried out by this worker, never as "system". Done under a lock on the
// model row, so when two become ready at once the one that served last wins both: the alias always names what
// production serves. A deployment that never serves moves nothing.
import { and, desc, eq, inArray, like, lt, ne, or, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { LIVE_DEPLOYMENT_STATUSES, approvalRequests, deploymentEvents, deployments, registeredModels, teams } from "@/db/schema";
import type { Actor } from "../auth/actor";
import { appendAudit } from "../audit/record";
import type { Ctx } from "../context";
import { newRequestId, systemCtx } from "../context";
import type { DeploymentRuntime } from "../deployments/runtime";
import { isActiveCandidate } from "../deployments/split-routing";
import { protectedAliases } from "../registry/access";
import { moveAlias } from "../registry/aliases";
import type { Loop } from "./runtime";

type Deployment = typeof deployments.$inferSelect;

export class ProductionPromotion implements Loop {
  readonly name = "promotion" as const;
  constructor(private readonly db: Db, private readonly runtime: DeploymentRuntime, readonly intervalMs: number) {}

  async tick(): Promise<void> {
    // Production: per model, the ready deployment that began serving last.
    const ready = await this.db
      .select({ d: deployments, team: teams.slug })
      .from(deployments)
      .innerJoin(teams, eq(teams.id, deployments.teamId))
      // A split's candidate serves beside production, not instead of it, until the split is promoted.
      .where(and(eq(deployments.environment, "production"), eq(deployments.status, "ready"), sql`not ${isActiveCandidate}`))
      .orderBy(desc(deployments.readyAt), desc(deployments.createdAt));
    const newest = new Map<string, { d: Deployment; team: string }>();
    for (const r of ready) if (!newest.has(r.d.modelId)) newest.set(r.d.modelId, r);
    for (const { d, team } of newest.values()) await this.promote(d, team);
    // Staging: a rollback that serves retires what it rolled back from.
    const rollbacks = await this.db
      .select({ d: deployments, team: teams.slug })
      .from(deployments)
      .innerJoin(teams, eq(teams.id, deployments.teamId))
      .where(and(eq(deployments.environment, "staging"), eq(deployments.status, "ready"), like(deployments.origin, "rollback %")));
    for (const { d, team } of rollbacks) await this.retireRolledBack(d, team);
  }

  /** Moves production to `d` (alias, older deployments) when it is not there yet. */
  private async promote(d: Deployment, team: string): Promise<void> {
    const ctx = await this.deciderCtx(d);
    const replaced = await this.db.transaction(async (tx) => {
      await tx.select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.id, d.modelId)).for("update");
      const [self] = await tx.select({ status: deployments.status, readyAt: deployments.readyAt }).from(deployments).where(eq(deployments.id, d.id));
      if (self?.status !== "ready" || !self.readyAt) return [];
      const message = `replaced by deployment ${d.id} (version ${d.version})`;
      // Older than this one: asked for before it, or serving since before it. A newer request still coming up stays.
      const older = await tx
        .update(deployments)
        .set({ status: "stopped", stoppedAt: new Date(), message })
        .where(and(
          eq(deployments.modelId, d.modelId), eq(deployments.environment, "production"), ne(deployments.id, d.id), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]),
          or(lt(deployments.createdAt, d.createdAt), lt(deployments.readyAt, self.readyAt)),
        ))
        .returning({ id: deployments.id });
      for (const o of older) await tx.insert(deploymentEvents).values({ deploymentId: o.id, status: "stopped", message });
      const via = d.origin ?? `deployment ${d.id}`;
      const model = { id: d.modelId, name: d.modelName, teamId: d.teamId, teamSlug: team };
      for (const alias of (await protectedAliases(tx, d.teamId)).filter((a) => a.toLowerCase() === "production")) {
        const from = await moveAlias(tx, ctx, model, alias, d.version, { who: ctx.actor.email, via, details: { deployment_id: d.id, via, carried_out_by: "production promotion (worker)" } });
        if (from !== undefined) await tx.insert(deploymentEvents).values({ deploymentId: d.id, status: "ready", message: `@${alias} moved to version ${d.version}${from === null ? "" : ` (from ${from})`}` });
      }
      return older;
    });
    // The switch is committed: the replaced replicas drain, then end.
    await Promise.all(replaced.map((o) => this.runtime.retire(o.id)));
  }

  private async retireRolledBack(d: Deployment, team: string): Promise<void> {
    const from = d.origin!.slice("rollback ".length);
    const ctx = await this.deciderCtx(d);
    const stopped = await this.db.transaction(async (tx) => {
      const message = `replaced by rollback deployment ${d.id} (version ${d.version})`;
      const [row] = await tx
        .update(deployments)
        .set({ status: "stopped", stoppedAt: new Date(), message })
        .where(and(sql`${deployments.id}::text = ${from}`, eq(deployments.teamId, d.teamId), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))
        .returning({ id: deployments.id, version: deployments.version });
      if (!row) return null;
      await tx.insert(deploymentEvents).values({ deploymentId: row.id, status: "stopped", message });
      await appendStop(tx, ctx, team, d, row);
      return row.id;
    });
    if (stopped) await this.runtime.retire(stopped);
  }

  /** Whose decision `d` carries out: the lead who approved it, the member who rolled back, or (seeded) the platform. */
  private async deciderCtx(d: Deployment): Promise<Ctx> {
    const [approval] = await this.db
      .select({ userId: approvalRequests.decidedBy, email: approvalRequests.decidedByEmail })
      .from(approvalRequests)
      .where(and(eq(approvalRequests.deploymentId, d.id), eq(approvalRequests.status, "approved")));
    const who = approval?.email ? { userId: approval.userId, email: approval.email } : d.origin?.startsWith("rollback ") ? { userId: d.createdBy, email: d.createdByEmail } : null;
    if (!who?.userId) return systemCtx(this.db, "promotion");
    const actor: Actor = { kind: "user", userId: who.userId, email: who.email, name: who.email, isAdmin: false, memberships: [] };
    return { actor, db: this.db, request: { id: `promotion-${newRequestId()}` } };
  }
}

async function appendStop(tx: DbOrTx, ctx: Ctx, team: string, d: Deployment, stopped: { id: string; version: number }): Promise<void> {
  await appendAudit(tx, ctx, {
    action: "deployment.stop", target: `deployment:${team}/${stopped.id}`, teamId: d.teamId, team,
    details: { model: d.modelName, version: stopped.version, environment: d.environment, replaced_by: d.id, via: d.origin, carried_out_by: "production promotion (worker)" },
  });
}
