// One timer for Cairn's in-memory rollups (API requests, gateway answers): write every few seconds, and once
// more when the process is told to stop, so a clean shutdown loses nothing.
export type PeriodicFlush = {
  /** Stops the timer and takes the stop hooks off SIGTERM/SIGINT (tests; a stopping process keeps them). */
  stop: () => void;
};

/**
 * Calls `flush` every `intervalMs` (the timer does not keep the process alive) and once more on SIGTERM and
 * SIGINT. Next.js listens to those signals too and exits when it has closed; alone, the hook ends the process
 * itself after its flush (130 for SIGINT, 143 for SIGTERM), as a process killed by the signal would. `flush`
 * must not throw: it logs its own failure and keeps what it could not write for the next call.
 */
export function startPeriodicFlush(flush: () => Promise<unknown>, intervalMs: number): PeriodicFlush {
  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();
  const hooks = (["SIGTERM", "SIGINT"] as const).map((signal) => {
    const hook = () => {
      // `once` has taken this hook off already: any listener left is someone else's.
      const alone = process.listenerCount(signal) === 0;
      void flush().finally(() => {
        if (alone) process.exit(signal === "SIGINT" ? 130 : 143);
      });
    };
    process.once(signal, hook);
    return { signal, hook };
  });
  return {
    stop: () => {
      clearInterval(timer);
      for (const { signal, hook } of hooks) process.off(signal, hook);
    },
  };
}
