// The typed TypeScript client's types, generated from the OpenAPI document the server serves
// (GET /api/v1/openapi.json, built by server/http/openapi.ts) with openapi-typescript:
//
//   npx tsx scripts/openapi-client.ts          # writes lib/api/v1.d.ts
//   npx tsx scripts/openapi-client.ts --check  # exits 1 when lib/api/v1.d.ts is stale
//
// lib/api/client.ts wraps them with openapi-fetch. server/http/openapi-client.test.ts fails when the checked-in
// types no longer match the document.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { openApiTypes, TYPES_FILE } from "../server/http/openapi-types";

const file = path.resolve(import.meta.dirname, "..", TYPES_FILE);
const fresh = await openApiTypes();
if (process.argv.includes("--check")) {
  const current = readFileSync(file, "utf8");
  if (current !== fresh) {
    console.error(`${TYPES_FILE} is stale: run npx tsx scripts/openapi-client.ts`);
    process.exit(1);
  }
  console.log(`${TYPES_FILE} matches the document`);
} else {
  writeFileSync(file, fresh);
  console.log(`wrote ${TYPES_FILE}`);
}
