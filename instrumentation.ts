// Runs once when the server starts: migrate, seed the demo organization, print how to sign in.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  // First, so Next's request spans and Cairn's own have a provider: only when OTEL_EXPORTER_OTLP_ENDPOINT (or
  // …_TRACES_ENDPOINT) is set; otherwise nothing is loaded or registered.
  const { startTracing } = await import("./server/observability/tracing-setup");
  await startTracing().catch((err: unknown) => console.error("[cairn] tracing did not start", err));
  // Before any request: stamp each with its socket's address (the only client address Cairn believes
  // unless CAIRN_TRUSTED_PROXIES names the proxy in front of it).
  const { installPeerAddressHook } = await import("./server/auth/request-info");
  installPeerAddressHook();
  // Then the front door on Next's own server: malformed paths refused 400, /serve/… answered by the gateway's fast
  // lane ahead of Next's routing (same port, same addresses).
  const { installFrontDoor } = await import("./server/http/front-door");
  installFrontDoor();
  const { announceStartup } = await import("./server/startup");
  await announceStartup();
}
