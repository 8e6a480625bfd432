// GET /api/v1/jobs/{id}/code — the job's code snapshot as a .tar.gz (what its pod unpacks into /workspace)
import { Readable } from "node:stream";
import { apiRoute } from "@/server/http/api-route";
import { getJobCode } from "@/server/jobs/code";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ endpoint: "/api/v1/jobs/[id]/code" }, async ({ ctx, params }) => {
  const archive = await getJobCode(ctx, params.id ?? "");
  const body = archive.body instanceof Readable ? (Readable.toWeb(archive.body) as ReadableStream<Uint8Array>) : new Uint8Array(archive.body);
  return new Response(body, {
    headers: {
      "content-type": "application/gzip",
      "content-disposition": `attachment; filename="${archive.filename}"`,
      "cache-control": "no-store",
    },
  });
});
