// The inference gateway: /serve/{team}/{deployment_id}/v2/models/{model}/infer, /v2/models/{model},
// /v2/health/ready and /invocations, forwarded to one of the deployment's replicas (a team token required).
import { getReadyDb } from "@/server/bootstrap";
import { serveInference } from "@/server/deployments/gateway";

type Context = { params: Promise<{ team: string; deployment: string; path: string[] }> };

async function handle(req: Request, { params }: Context): Promise<Response> {
  const p = await params;
  let path: string[];
  try {
    path = p.path.map((s) => decodeURIComponent(s));
  } catch {
    return Response.json({ error: "The path is not valid percent-encoding." }, { status: 400 });
  }
  return serveInference(await getReadyDb(), req, { team: p.team, deployment: p.deployment, path });
}

export const GET = handle;
export const POST = handle;
