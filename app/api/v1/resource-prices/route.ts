// GET /api/v1/resource-prices — per-kind prices the cost split uses (CPU core-hour, memory GiB-hour, GPU-hour by type,
// storage GiB-month); PUT (admins) sets one: {kind, gpu_type?, unit_price_usd}
import { resourcePriceSchema } from "@/lib/schemas/costs";
import { listResourcePrices, saveResourcePrice } from "@/server/costs/resource-prices";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/resource-prices" }, async ({ ctx }) => ({ resource_prices: await listResourcePrices(ctx) }));

export const PUT = apiRoute({ endpoint: "/api/v1/resource-prices", body: resourcePriceSchema }, async ({ ctx, body }) => saveResourcePrice(ctx, body));
