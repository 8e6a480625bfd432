// GET /api/v1/instance-types — the catalog jobs choose from, with hourly prices
import { apiRoute } from "@/server/http/api-route";
import { listInstanceTypes } from "@/server/teams/instance-types";

export const GET = apiRoute({ endpoint: "/api/v1/instance-types" }, async ({ ctx }) => ({ instance_types: await listInstanceTypes(ctx) }));
