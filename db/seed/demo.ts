// The demo organization of API.md, seeded into an empty database (CAIRN_DEMO=false turns it off).
// Later issues extend it with experiments, models, jobs and costs.
import { count, sql } from "drizzle-orm";
import { appendAudit } from "@/server/audit/record";
import { hashPassword } from "@/server/auth/passwords";
import type { ArtifactStore } from "@/server/artifacts/store";
import { systemCtx } from "@/server/context";
import type { Db } from "../client";
import { instanceTypes, memberships, teamQuotas, teams, users } from "../schema";
import type { Role } from "../schema";
import { seedDemoBudgetSpend } from "./costs";
import { seedDemoJobs } from "./jobs";
import { meterCosts } from "@/server/costs/meter";
import { seedDemoApproval, seedDemoDeployments } from "./deployments";
import { seedDemoRegistry } from "./registry";
import { seedDemoTracking } from "./tracking";

export const DEMO_PASSWORD = "cairn-demo";

export const DEMO_USERS: { email: string; name: string; isAdmin?: boolean; team?: string; role?: Role; label: string }[] = [
  { email: "admin@example.com", name: "Ada Admin", isAdmin: true, label: "platform admin" },
  { email: "lead@example.com", name: "Lee Lead", team: "churn", role: "team_lead", label: "team lead, churn" },
  { email: "mle@example.com", name: "Max Engineer", team: "churn", role: "ml_engineer", label: "ML engineer, churn" },
  { email: "ds@example.com", name: "Dana Scientist", team: "churn", role: "data_scientist", label: "data scientist, churn" },
  { email: "lead.fraud@example.com", name: "Fran Lead", team: "fraud", role: "team_lead", label: "team lead, fraud" },
  { email: "ds.fraud@example.com", name: "Sam Scientist", team: "fraud", role: "data_scientist", label: "data scientist, fraud" },
];

const DEMO_TEAMS = [
  { slug: "churn", name: "Customer Churn", budget: 5000 },
  { slug: "fraud", name: "Fraud Detection", budget: 5000 },
  { slug: "vision", name: "Computer Vision", budget: 2000 },
];

export const DEMO_INSTANCE_TYPES = [
  { name: "cpu.small", cpu: 2, memoryGib: 4, gpuType: null, gpuCount: 0, hourlyPriceUsd: 0.1 },
  { name: "cpu.large", cpu: 8, memoryGib: 32, gpuType: null, gpuCount: 0, hourlyPriceUsd: 0.4 },
  { name: "gpu.small", cpu: 8, memoryGib: 32, gpuType: "nvidia-t4", gpuCount: 1, hourlyPriceUsd: 0.6 },
  { name: "gpu.large", cpu: 32, memoryGib: 256, gpuType: "nvidia-a100", gpuCount: 4, hourlyPriceUsd: 12 },
];

/**
 * Seeds the demo organization when the database has no users. Returns whether it seeded. With a `store`, the
 * demo experiments, runs and artifacts follow (tests leave it out to stay fast).
 */
export async function seedDemo(db: Db, opts?: { store?: ArtifactStore; dataDir?: string }): Promise<boolean> {
  const hashes = await Promise.all(DEMO_USERS.map(() => hashPassword(DEMO_PASSWORD)));
  const seeded = await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${0x7365_6564})`); // "seed": one instance seeds
    const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(users);
    if (n > 0) return false;
    const teamRows = await tx
      .insert(teams)
      .values(DEMO_TEAMS.map((t) => ({ slug: t.slug, name: t.name, namespace: `cairn-${t.slug}` })))
      .returning({ id: teams.id, slug: teams.slug });
    const teamId = new Map(teamRows.map((t) => [t.slug, t.id]));
    // 20 model replicas each: more than a third of the host's default CAIRN_LOCAL_REPLICAS_MAX (32), never all of it.
    await tx.insert(teamQuotas).values(DEMO_TEAMS.map((t) => ({
      teamId: teamId.get(t.slug)!, cpu: 64, memoryGib: 256, gpus: 8, maxConcurrentJobs: 10, maxDeployments: 10, maxReplicas: 20,
      storageGib: 500, monthlyBudgetUsd: t.budget,
    })));
    await tx.insert(instanceTypes).values(DEMO_INSTANCE_TYPES).onConflictDoNothing();
    const userRows = await tx
      .insert(users)
      .values(DEMO_USERS.map((u, i) => ({ email: u.email, name: u.name, isAdmin: u.isAdmin ?? false, passwordHash: hashes[i]! })))
      .returning({ id: users.id, email: users.email });
    const userId = new Map(userRows.map((u) => [u.email, u.id]));
    const members = DEMO_USERS.filter((u) => u.team && u.role).map((u) => ({ teamId: teamId.get(u.team!)!, userId: userId.get(u.email)!, role: u.role! }));
    await tx.insert(memberships).values(members);
    await appendAudit(tx, systemCtx(db, "seed"), { action: "platform.seed_demo", target: "platform", details: { teams: DEMO_TEAMS.map((t) => t.slug), users: DEMO_USERS.length } });
    return true;
  });
  // After the commit: the tracking data needs the teams and users, and is too bulky for the locked transaction.
  // Only the instance that seeded the organization gets here, so two instances never both seed runs.
  if (seeded && opts?.store) {
    try {
      await seedDemoTracking(db, opts.store);
      await seedDemoRegistry(db, opts.store);
      await seedDemoDeployments(db);
      await seedDemoApproval(db);
      if (opts.dataDir) await seedDemoJobs(db, opts.dataDir);
      // The demo jobs' history is charged into the cost ledger now (the meter then keeps it current).
      await meterCosts(db, new Date(), { store: opts.store });
      // Vision sits near its budget (API.md): about $1,700 of $2,000 spent this month.
      await seedDemoBudgetSpend(db);
    } catch (err) {
      // The organization is in place and sign-in works; a platform that will not boot over demo runs helps no one.
      console.error("[cairn] seeding the demo experiments failed", err);
    }
  }
  return seeded;
}
