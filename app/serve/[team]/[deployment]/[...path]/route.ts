// The inference gateway. /serve/{team}/{model}/{environment}/… is a model's stable address (environment:
// staging | production; whichever deployment serves it now); /serve/{team}/{deployment_id}/… pins one
// deployment. Either serves /v2/models/{model}/infer, /v2/models/{model}, /v2/health/ready and
// /invocations from one of the deployment's replicas (a team token required). The second segment is a
// model name exactly when the third is an environment (server/deployments/endpoints.ts, serveAddress).
import { getReadyDb } from "@/server/bootstrap";
import { answerResponse, fromRequest, serveInference } from "@/server/deployments/gateway";
import { decodeSegment } from "@/lib/path-segment";

type Context = { params: Promise<{ team: string; deployment: string; path: string[] }> };

async function handle(req: Request, { params }: Context): Promise<Response> {
  const p = await params;
  const deployment = decodeSegment(p.deployment);
  const path = p.path.map(decodeSegment);
  if (deployment === null || path.some((s) => s === null)) {
    return Response.json({ error: "The path is not valid percent-encoding; encode the model name with encodeURIComponent." }, { status: 400 });
  }
  return answerResponse(await serveInference(await getReadyDb(), fromRequest(req), { team: p.team, deployment, path: path as string[] }));
}

export const GET = handle;
export const POST = handle;
