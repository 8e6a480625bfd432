// Runs once when the server starts: migrate, seed the demo organization, print how to sign in.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { announceStartup } = await import("./server/startup");
  await announceStartup();
}
