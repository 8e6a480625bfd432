// The inference gateway. /serve/{team}/{model}/{environment}/… is a model's stable address (environment:
// staging | production; whichever deployment serves it now); /serve/{team}/{deployment_id}/… pins one
// deployment. Either serves /v2/models/{model}/infer, /v2/models/{model}, /v2/health/ready and
// /invocations from one of the deployment's replicas (a team token required). The second segment is a
// model name exactly when the third is an environment (server/deployments/endpoints.ts, serveAddress).
import { getReadyDb } from "@/server/bootstrap";
import { answerResponse, fromRequest, serveInference } from "@/server/deployments/gateway";

type Context = { params: Promise<{ team: string; deployment: string; path: string[] }> };

/**
 * Next hands the segments decoded once (a path with malformed percent-encoding is refused 400 by the front door,
 * server/http/front-door.ts, before Next); in a running server GET and POST on plain paths take the fast lane, so
 * this handler answers what Next normalised first (dot segments, doubled slashes) with the same code.
 */
async function handle(req: Request, { params }: Context): Promise<Response> {
  const p = await params;
  return answerResponse(await serveInference(await getReadyDb(), fromRequest(req), { team: p.team, deployment: p.deployment, path: p.path }));
}

export const GET = handle;
export const POST = handle;
