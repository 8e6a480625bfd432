// GET /api/v1/costs/allocation — cost by team, user, experiment, job, run, model, model version or environment, split
// by CPU, memory, GPU and storage, with efficiency and idle cost; CSV for chargeback with format=csv or Accept: text/csv
import { allocationQuery } from "@/lib/schemas/costs";
import { getAllocation } from "@/server/costs/allocation";
import { allocationCsv, allocationFilename } from "@/server/costs/allocation-csv";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/costs/allocation", query: allocationQuery }, async ({ ctx, req, query }) => {
  const allocation = await getAllocation(ctx, query);
  const wantsCsv = query.format === "csv" || (query.format === undefined && /\btext\/csv\b/.test(req.headers.get("accept") ?? ""));
  if (!wantsCsv) return allocation;
  return new Response(allocationCsv(allocation), {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${allocationFilename(allocation)}"`, "cache-control": "no-store" },
  });
});
