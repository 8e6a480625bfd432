// Demo deployments: churn's classifier served in production (the version its production alias holds, as
// an approved deploy would have left it) and its champion in staging, one replica each. The records are
// written here (for the configured backend: local replicas, or objects in the team's namespace on Kubernetes); the
// deployment reconciler brings them up like any other live deployment.
import { and, eq } from "drizzle-orm";
import type { Db } from "../client";
import { approvalRequests, deploymentEvents, deployments, modelAliases, modelVersions, registeredModels, teams, users } from "../schema";
import type { DeploymentEnvironment } from "../schema";
import { deployModel } from "@/server/approvals/deploy";
import { appendAudit } from "@/server/audit/record";
import { loadUserActor } from "@/server/auth/load-actor";
import { systemCtx } from "@/server/context";
import { servedFile } from "@/server/registry/pins";
import { env } from "@/server/env";

const DEMO_DEPLOYMENTS: { team: string; model: string; alias: string; environment: DeploymentEnvironment; by: string }[] = [
  { team: "churn", model: "churn-classifier", alias: "production", environment: "production", by: "lead@example.com" },
  { team: "churn", model: "churn-classifier", alias: "champion", environment: "staging", by: "ds@example.com" },
];

export async function seedDemoDeployments(db: Db): Promise<{ deployments: number }> {
  const [any] = await db.select({ id: deployments.id }).from(deployments).limit(1);
  if (any) return { deployments: 0 };
  let made = 0;
  for (const spec of DEMO_DEPLOYMENTS) {
    const [row] = await db
      .select({ teamId: teams.id, modelId: registeredModels.id, version: modelAliases.version, versionId: modelVersions.id, format: modelVersions.inspection, digest: modelVersions.contentDigest, manifest: modelVersions.contentManifest })
      .from(registeredModels)
      .innerJoin(teams, eq(teams.id, registeredModels.teamId))
      .innerJoin(modelAliases, and(eq(modelAliases.modelId, registeredModels.id), eq(modelAliases.alias, spec.alias)))
      .innerJoin(modelVersions, and(eq(modelVersions.modelId, registeredModels.id), eq(modelVersions.version, modelAliases.version)))
      .where(and(eq(teams.slug, spec.team), eq(registeredModels.name, spec.model)));
    const served = row && servedFile(row.manifest, row.format.onnxPath);
    if (!row || row.format.format !== "onnx" || !served) continue;
    const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, spec.by));
    await db.transaction(async (tx) => {
      const [d] = await tx.insert(deployments).values({
        teamId: row.teamId, modelId: row.modelId, versionId: row.versionId, modelName: spec.model, version: row.version, alias: spec.alias,
        environment: spec.environment, status: "deploying", replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, traffic: 100,
        backend: env().computeBackend, origin: "demo seed", contentDigest: row.digest, modelSha256: served.sha256, createdBy: user?.id ?? null, createdByEmail: spec.by,
      }).returning({ id: deployments.id });
      await tx.insert(deploymentEvents).values({ deploymentId: d!.id, status: "deploying", message: `demo: ${spec.model} v${row.version} (@${spec.alias}) deployed to ${spec.environment} with 1 replica` });
      await appendAudit(tx, systemCtx(db, "seed"), { action: "deployment.create", target: `deployment:${spec.team}/${d!.id}`, teamId: row.teamId, team: spec.team, details: { model: spec.model, version: row.version, alias: spec.alias, environment: spec.environment, replicas: 1, demo: true } });
    });
    made++;
  }
  return { deployments: made };
}

/**
 * One production request waiting for churn's lead, so a lead's inbox is not empty on first sign-in: the ML
 * engineer asks to ship the champion (staging) version, through the same service a real request uses (its
 * evidence is taken now). Only when production serves another version and nothing is pending yet.
 */
export async function seedDemoApproval(db: Db): Promise<{ approvals: number }> {
  const [pending] = await db.select({ id: approvalRequests.id }).from(approvalRequests).limit(1);
  const [mle] = await db.select({ id: users.id }).from(users).where(eq(users.email, "mle@example.com"));
  if (pending || !mle) return { approvals: 0 };
  const aliases = await db
    .select({ alias: modelAliases.alias, version: modelAliases.version })
    .from(modelAliases)
    .innerJoin(registeredModels, eq(registeredModels.id, modelAliases.modelId))
    .innerJoin(teams, eq(teams.id, registeredModels.teamId))
    .where(and(eq(teams.slug, "churn"), eq(registeredModels.name, "churn-classifier")));
  const version = (alias: string) => aliases.find((a) => a.alias === alias)?.version;
  if (version("champion") === undefined || version("champion") === version("production")) return { approvals: 0 };
  const actor = await loadUserActor(db, mle.id);
  if (!actor) return { approvals: 0 };
  await deployModel({ actor, db, request: { id: "seed-approval" } }, "churn-classifier", {
    team: "churn", alias: "champion", environment: "production", replicas: 2, auto_scale: false, traffic: 100,
    note: "The champion beats production on validation AUC in staging; shipping it with 2 replicas.",
  });
  return { approvals: 1 };
}
