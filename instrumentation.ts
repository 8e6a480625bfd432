// Runs once when the server starts: migrate, seed the demo organization, print how to sign in.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  // Before any request: stamp each with its socket's address (the only client address Cairn believes
  // unless CAIRN_TRUSTED_PROXIES names the proxy in front of it).
  const { installPeerAddressHook } = await import("./server/auth/request-info");
  installPeerAddressHook();
  const { announceStartup } = await import("./server/startup");
  await announceStartup();
}
