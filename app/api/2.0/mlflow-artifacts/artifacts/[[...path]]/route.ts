// /api/2.0/mlflow-artifacts/artifacts[/<path>] — proxied artifact upload, download and listing
import { handleArtifacts } from "@/server/mlflow/artifacts-handler";

async function handler(req: Request): Promise<Response> {
  return handleArtifacts(req);
}

export { handler as GET, handler as PUT, handler as DELETE };
