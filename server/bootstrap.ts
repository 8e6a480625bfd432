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
  return globalForBoot.__cairnReady;
}
