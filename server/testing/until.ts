// Waiting in tests against a real cluster (or any process moving on its own): polls until the probe answers
// something truthy, and says what it waited for when it gives up.
export async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, seconds = 90): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
