// A JSON answer that is already text (built by the database, e.g. a page of runs): sent as it is, never
// parsed into objects and serialized again on the event loop.
export class RawJson {
  constructor(readonly text: string) {}
}

/** `result` as a JSON response: raw JSON text as is, anything else serialized. */
export function jsonResponse(result: unknown, init?: ResponseInit): Response {
  if (!(result instanceof RawJson)) return Response.json(result, init);
  const headers = new Headers(init?.headers);
  headers.set("content-type", "application/json");
  return new Response(result.text, { ...init, headers });
}
