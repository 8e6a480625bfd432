// First use of the database in this process: migrations (in db/client), then the demo seed if enabled.
import type { Db } from "@/db/client";
import { getDatabase } from "@/db/client";
import { seedDemo } from "@/db/seed/demo";
import { env } from "./env";
import { artifactStore } from "./tracking/artifacts";
import { log } from "./observability/log";

const globalForBoot = globalThis as unknown as { __cairnReady?: Promise<Db> };

export function getReadyDb(): Promise<Db> {
  if (!globalForBoot.__cairnReady) {
    const ready = (async () => {
      const { db } = await getDatabase();
      if (env().demo && (await seedDemo(db, { store: artifactStore(), dataDir: env().dataDir }))) log.info("seeded the demo organization");
      return db;
    })();
    ready.catch(() => { globalForBoot.__cairnReady = undefined; });
    globalForBoot.__cairnReady = ready;
  }
  const ready = globalForBoot.__cairnReady;
  if (!watched.has(ready)) {
    watched.add(ready);
    ready.then((db) => settled.set(ready, db), () => undefined);
  }
  return ready;
}

// The database each ready promise resolved to, so a hot path (the gateway's fast lane) need not wait a tick for it.
const watched = new WeakSet<Promise<Db>>();
const settled = new WeakMap<Promise<Db>, Db>();

/** The ready database when getReadyDb() has already resolved (the same one it resolves to), else null. */
export function readyDbNow(): Db | null {
  const ready = globalForBoot.__cairnReady;
  return ready ? settled.get(ready) ?? null : null;
}
