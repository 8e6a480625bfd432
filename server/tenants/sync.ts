// The tenant sync (kubernetes backend): every team's namespace holds the objects manifests.ts describes.
// Each pass reads them all, creates what is missing and repairs what drifted, then records per team
// "in_sync", "drift_repaired" (the cluster differed from what Cairn had applied, and was put back) or
// "error" with the API's message, plus the ResourceQuota's status as the usage Kubernetes sees. A
// changed quota is an update, not drift: the digest of what was applied tells the two apart. Every step
// is idempotent, so a pass interrupted anywhere converges on the next. Each team is synced under a short
// claim in the database (tenant_sync_leases), so several Cairn instances never sync the same team at once.
import { createHash, randomUUID } from "node:crypto";
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Db } from "@/db/client";
import { teamQuotas, teams, tenantSync, tenantSyncLeases } from "@/db/schema";
import { namespaceFor } from "../compute/k8s-manifest";
import { quotaDto } from "../teams/service";
import type { Outcome, QuotaStatus } from "./cluster";
import { TenantCluster } from "./cluster";
import { desiredObjects } from "./manifests";
import { log } from "../observability/log";

export type TeamSyncResult = {
  team: string;
  state: "in_sync" | "drift_repaired" | "error";
  message: string | null;
  outcomes: Outcome[];
  quota_status: QuotaStatus | null;
};

type TeamRow = { id: string; slug: string };

/** How long a claim on a team lasts if its instance never finishes (dies mid-pass). */
const LEASE_SECONDS = 120;

export class TenantSyncer {
  readonly cluster: TenantCluster;
  /** This instance, as the owner of its claims. */
  readonly owner = randomUUID();

  constructor(kubeConfig: KubeConfig, private readonly opts: { serviceAccount: string }) {
    this.cluster = new TenantCluster(kubeConfig);
  }

  /** Claims a team for this pass: false when another instance is syncing it (its claim has not run out). */
  private async claim(db: Db, teamId: string): Promise<boolean> {
    const rows = await db
      .insert(tenantSyncLeases)
      .values({ teamId, owner: this.owner, until: sql`now() + make_interval(secs => ${LEASE_SECONDS})` })
      .onConflictDoUpdate({
        target: tenantSyncLeases.teamId,
        set: { owner: this.owner, until: sql`now() + make_interval(secs => ${LEASE_SECONDS})` },
        setWhere: sql`${tenantSyncLeases.until} < now() or ${tenantSyncLeases.owner} = ${this.owner}`,
      })
      .returning({ owner: tenantSyncLeases.owner });
    return rows.length > 0;
  }

  private async release(db: Db, teamId: string): Promise<void> {
    await db.delete(tenantSyncLeases).where(and(eq(tenantSyncLeases.teamId, teamId), eq(tenantSyncLeases.owner, this.owner)));
  }

  /** One pass over every team that is not archived. */
  async syncAll(db: Db): Promise<TeamSyncResult[]> {
    const rows = await db.select({ id: teams.id, slug: teams.slug }).from(teams).where(isNull(teams.archivedAt)).orderBy(asc(teams.slug));
    let kueue = false;
    try {
      kueue = await this.cluster.hasKueue();
    } catch (err) {
      // Without discovery nothing else will work either: every team records the API's message.
      return Promise.all(rows.map((t) => this.record(db, t, null, { error: err })));
    }
    const out: TeamSyncResult[] = [];
    for (const t of rows) {
      const r = await this.syncTeam(db, t, kueue);
      if (r) out.push(r);
    }
    return out;
  }

  /** Syncs one team by slug (after its quota changed); discovers Kueue itself. */
  async syncOne(db: Db, slug: string): Promise<TeamSyncResult | null> {
    const [t] = await db.select({ id: teams.id, slug: teams.slug }).from(teams).where(and(eq(teams.slug, slug), isNull(teams.archivedAt)));
    if (!t) return null;
    let kueue: boolean;
    try {
      kueue = await this.cluster.hasKueue();
    } catch (err) {
      return this.record(db, t, null, { error: err });
    }
    return this.syncTeam(db, t, kueue);
  }

  /** Syncs one team under a claim; null when another instance holds the team right now. */
  private async syncTeam(db: Db, t: TeamRow, kueue: boolean): Promise<TeamSyncResult | null> {
    if (!(await this.claim(db, t.id))) return null;
    try {
      return await this.syncClaimed(db, t, kueue);
    } finally {
      await this.release(db, t.id);
    }
  }

  private async syncClaimed(db: Db, t: TeamRow, kueue: boolean): Promise<TeamSyncResult> {
    const [q] = await db.select().from(teamQuotas).where(eq(teamQuotas.teamId, t.id));
    if (!q) return this.record(db, t, null, { error: new Error(`team ${t.slug} has no quota yet; an admin sets one on the team page`) });
    const outcomes: Outcome[] = [];
    let digest: string;
    try {
      const desired = desiredObjects({ slug: t.slug, quota: quotaDto(q), limitRange: q.limitRange ?? null }, { serviceAccount: this.opts.serviceAccount, kueue });
      digest = createHash("sha256").update(JSON.stringify(desired.map((d) => d.body))).digest("hex");
      for (const d of desired) outcomes.push(await this.cluster.apply(d));
      if (!desired.some((d) => d.kind === "LimitRange")) {
        const removed = await this.cluster.removeLimitRange(namespaceFor(t.slug));
        if (removed) outcomes.push(removed);
      }
      const status = await this.cluster.quotaStatus(namespaceFor(t.slug));
      return await this.record(db, t, digest, { outcomes, status, kueue });
    } catch (err) {
      return this.record(db, t, null, { error: err, outcomes });
    }
  }

  private async record(
    db: Db, t: TeamRow, digest: string | null,
    r: { outcomes?: Outcome[]; status?: QuotaStatus | null; kueue?: boolean; error?: unknown },
  ): Promise<TeamSyncResult> {
    const now = new Date();
    const outcomes = r.outcomes ?? [];
    const changed = outcomes.filter((o) => o.action !== "unchanged");
    const describe = (o: Outcome) => `${o.kind} ${o.name} ${o.action}${o.differences.length ? `: ${o.differences.slice(0, 4).join("; ")}` : ""}`;
    const [prev] = await db.select().from(tenantSync).where(eq(tenantSync.teamId, t.id));
    if (r.error !== undefined) {
      const message = r.error instanceof Error ? r.error.message : String(r.error);
      const values = { state: "error" as const, message, repaired: changed.map(describe), checkedAt: now };
      await db.insert(tenantSync).values({ teamId: t.id, ...values }).onConflictDoUpdate({ target: tenantSync.teamId, set: values });
      return { team: t.slug, state: "error", message, outcomes, quota_status: prev?.quotaStatus ?? null };
    }
    // Drift: what Cairn had applied (same digest) is no longer what the cluster holds.
    const drift = changed.length > 0 && prev?.appliedDigest === digest;
    const state = drift ? ("drift_repaired" as const) : ("in_sync" as const);
    const message = changed.length ? (drift ? `repaired ${changed.length} object(s)` : `applied ${changed.length} change(s)`) : null;
    const values = {
      state, message, repaired: changed.map(describe), checkedAt: now, syncedAt: now,
      driftRepairedAt: drift ? now : prev?.driftRepairedAt ?? null, quotaStatus: r.status ?? null, kueue: r.kueue ?? false, appliedDigest: digest,
    };
    await db.insert(tenantSync).values({ teamId: t.id, ...values }).onConflictDoUpdate({ target: tenantSync.teamId, set: values });
    if (drift) log.warn(`tenant sync: drift repaired in ${namespaceFor(t.slug)}: ${values.repaired.join(" | ")}`);
    return { team: t.slug, state, message, outcomes, quota_status: r.status ?? null };
  }
}
