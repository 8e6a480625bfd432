// Resource prices over REST: everyone signed in reads them, admins set them (audited), bad bodies answer 400.
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import type { ResourcePriceDto } from "@/lib/schemas/costs";
import { DEMO, call, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { GET, PUT } from "./route";

const db = demoDatabase();
let ds = "";
let lead = "";
let admin = "";

beforeAll(async () => {
  [ds, lead, admin] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.lead, "churn"), tokenFor(db(), DEMO.admin, "churn")]);
});

const put = (token: string, body: unknown) => call(PUT, { method: "PUT", token, path: "/api/v1/resource-prices", body });

describe("/api/v1/resource-prices", () => {
  it("lists the default prices with their units to any member", async () => {
    const res = await call(GET, { token: ds, path: "/api/v1/resource-prices" });
    expect(res.status).toBe(200);
    const prices = (res.json as { resource_prices: ResourcePriceDto[] }).resource_prices;
    expect(prices).toContainEqual(expect.objectContaining({ kind: "cpu", gpu_type: null, unit: "core-hour", unit_price_usd: 0.0316 }));
    expect(prices).toContainEqual(expect.objectContaining({ kind: "gpu", gpu_type: "nvidia-a100", unit: "GPU-hour", unit_price_usd: 2.9 }));
    expect(prices).toContainEqual(expect.objectContaining({ kind: "storage", unit: "GiB-month", unit_price_usd: 0.04 }));
  });

  it("lets an admin set a GPU type's price (audited), refuses a team lead with 403 and bad bodies with 400", async () => {
    const ok = await put(admin, { kind: "gpu", gpu_type: "nvidia-h100", unit_price_usd: 4.5 });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json).toMatchObject({ kind: "gpu", gpu_type: "nvidia-h100", unit_price_usd: 4.5 });
    const audited = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "resource_price.save"), eq(auditEvents.target, "resource_price:gpu:nvidia-h100")));
    expect(audited).toHaveLength(1);
    expect((await put(lead, { kind: "cpu", unit_price_usd: 1 })).status).toBe(403);
    for (const body of [{ kind: "disk", unit_price_usd: 1 }, { kind: "cpu", unit_price_usd: -1 }, { kind: "cpu" }, { kind: "cpu", unit_price_usd: 1, extra: true }, { kind: "memory", gpu_type: "nvidia-t4", unit_price_usd: 1 }]) {
      expect((await put(admin, body)).status, JSON.stringify(body)).toBe(400);
    }
    const after = (await call(GET, { token: ds, path: "/api/v1/resource-prices" })).json as { resource_prices: ResourcePriceDto[] };
    expect(after.resource_prices.find((p) => p.kind === "cpu")?.unit_price_usd).toBe(0.0316);
  });
});
