// One endpoint of the MLflow-compatible API: method, path pattern, and a handler that parses the
// request with its schema before calling a service.
import type { z } from "zod";
import type { Ctx } from "../context";

type Handler = (ctx: Ctx, input: unknown, params: string[]) => Promise<unknown>;
export type Endpoint = { method: "GET" | "POST" | "PATCH" | "DELETE"; pattern: RegExp; handle: Handler };

export function ep<T>(method: Endpoint["method"], path: string | RegExp, schema: z.ZodType<T>, run: (ctx: Ctx, input: T, params: string[]) => Promise<unknown>): Endpoint {
  const pattern = typeof path === "string" ? new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : path;
  return { method, pattern, handle: async (ctx, raw, params) => run(ctx, schema.parse(raw), params) };
}
