// The TypeScript types of the OpenAPI document (openapi-typescript), as lib/api/v1.d.ts holds them. Used by
// scripts/openapi-client.ts (to write them) and its test (to check they are current); never by a route.
import openapiTS, { astToString } from "openapi-typescript";
import { openApiDocument } from "./openapi";

export const TYPES_FILE = "lib/api/v1.d.ts";

const HEADER = `// Generated from GET /api/v1/openapi.json (server/http/openapi.ts) by openapi-typescript — do not edit:
// run \`npx tsx scripts/openapi-client.ts\` after changing the API. lib/api/client.ts is the typed client.
`;

export async function openApiTypes(): Promise<string> {
  // The version does not shape the types: a fixed one keeps the file stable across releases.
  const doc = openApiDocument("current");
  const ast = await openapiTS(doc as never);
  return `${HEADER}\n${astToString(ast)}`;
}
