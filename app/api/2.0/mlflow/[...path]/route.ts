// /api/2.0/mlflow/* — the MLflow-compatible tracking API (bearer token, or basic auth with the token as password)
import { handleMlflow } from "@/server/mlflow/handler";

type Ctx = { params: Promise<{ path: string[] }> };

async function handler(req: Request, ctx: Ctx): Promise<Response> {
  return handleMlflow(req, (await ctx.params).path);
}

export { handler as GET, handler as POST, handler as PATCH, handler as DELETE };
