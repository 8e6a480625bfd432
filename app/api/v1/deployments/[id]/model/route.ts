// GET /api/v1/deployments/{id}/model — the pinned model file, for the init container of a deployment's pods on
// Kubernetes (Bearer: the deployment's download token, not a user's).
import { publicRoute } from "@/server/http/api-route";
import { deploymentModel } from "@/server/deployments/model-download";
import { getReadyDb } from "@/server/bootstrap";

export const dynamic = "force-dynamic";

export async function GET(req: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  return publicRoute("/api/v1/deployments/[id]/model", async () => {
    const file = await deploymentModel(await getReadyDb(), id, req.headers.get("authorization"));
    return new Response(file.stream, {
      headers: { "content-type": "application/octet-stream", "content-length": String(file.size), "x-cairn-sha256": file.sha256, "cache-control": "no-store" },
    });
  })(req);
}
