// The sweep driver, a worker loop (./runtime.ts): every open sweep gets one pass (server/sweeps/driver.ts) — new
// trials while budget and parallelism allow, early stopping, stop. A failing sweep does not hold up the others.
import { inArray, or, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { sweeps, sweepTrials } from "@/db/schema";
import { driveSweep } from "../sweeps/driver";
import type { Loop } from "./runtime";
import { log as serverLog } from "../observability/log";

export class SweepDriver implements Loop {
  readonly name = "sweeps" as const;
  constructor(private readonly db: Db, readonly intervalMs: number, private readonly log: (m: string) => void = (m) => serverLog.error(`sweeps: ${m}`)) {}

  async tick(): Promise<void> {
    // Open sweeps, and ended ones with trials whose end is not recorded yet.
    const open = await this.db
      .select({ id: sweeps.id })
      .from(sweeps)
      .where(or(inArray(sweeps.state, ["running", "paused", "stopping"]), sql`exists (select 1 from ${sweepTrials} t where t.sweep_id = ${sweeps.id} and t.state in ('active', 'pruning'))`));
    for (const { id } of open) {
      try {
        await driveSweep(this.db, id);
      } catch (err) {
        this.log(`sweep ${id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
