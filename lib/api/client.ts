// The typed client of Cairn's REST API (/api/v1), for Node scripts, the e2e helpers and any TypeScript user:
// openapi-fetch over the types generated from the OpenAPI document (lib/api/v1.d.ts). Paths, path parameters,
// query parameters and request bodies are checked at compile time; an error answer comes back as `error` (the
// API's {error: {code, message, fields?, request_id}}).
//
//   const cairn = cairnClient({ baseUrl: "http://localhost:3000", token: process.env.CAIRN_TOKEN });
//   const { data, error } = await cairn.POST("/api/v1/experiments/{id}/train", { params: { path: { id: "1" } }, body: { instance_type: "cpu.small" } });
import createClient from "openapi-fetch";
import type { Client } from "openapi-fetch";
import type { paths } from "./v1";

export type { paths } from "./v1";
export type CairnClient = Client<paths>;

export function cairnClient(opts: { baseUrl: string; token?: string; headers?: Record<string, string>; fetch?: typeof fetch }): CairnClient {
  return createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ""),
    headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}
