// GET /api/v1/deployments/{id}/model: the pinned model file of a deployment served on Kubernetes, for its
// pods' init container. It carries no user's credentials: the Secret beside the Deployment holds a token that
// opens this one file of this one live deployment (an HMAC of the deployment and its pinned hash under the
// platform's secret), and the init container checks the bytes against the pinned SHA-256 before the model
// server starts. Anything else — no such deployment, not live, not on Kubernetes, another token — is the
// same 404, so the address reveals nothing.
import { eq } from "drizzle-orm";
import type { Db } from "@/db/client";
import { LIVE_DEPLOYMENT_STATUSES, deployments, modelVersions } from "@/db/schema";
import { validModelDownloadToken } from "../compute/k8s-serving-manifest";
import { authSecret } from "../env";
import { AppError } from "../errors";
import { pinRoot, pinnedStore } from "../registry/pins";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function deploymentModel(db: Db, id: string, authorization: string | null): Promise<{ stream: ReadableStream<Uint8Array>; size: number; sha256: string }> {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!token) throw new AppError("unauthenticated", "Send the deployment's model download token as `Authorization: Bearer <token>` (its pods' init container reads it from the Secret beside the Deployment).");
  const missing = new AppError("not_found", `Deployment ${id} has no model to download with this token.`);
  if (!UUID.test(id)) throw missing;
  const [row] = await db
    .select({ status: deployments.status, backend: deployments.backend, sha: deployments.modelSha256, versionId: deployments.versionId, inspection: modelVersions.inspection })
    .from(deployments)
    .leftJoin(modelVersions, eq(modelVersions.id, deployments.versionId))
    .where(eq(deployments.id, id));
  if (!row?.sha || row.backend !== "kubernetes" || !(LIVE_DEPLOYMENT_STATUSES as readonly string[]).includes(row.status)) throw missing;
  if (!validModelDownloadToken(authSecret(), id, row.sha, token)) throw missing;
  if (!row.versionId || !row.inspection?.onnxPath) throw new AppError("conflict", `The version deployment ${id} serves was deleted, and with it the pinned model file; deploy a version that exists.`);
  const got = await pinnedStore().get(pinRoot(row.versionId), row.inspection.onnxPath);
  if (!got) throw new AppError("conflict", `The pinned copy of ${row.inspection.onnxPath} for deployment ${id} is missing from the registry's folder; deploy the version again.`);
  return { ...got, sha256: row.sha };
}
