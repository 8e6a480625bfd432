// The cost meter, a worker loop (./runtime.ts): running jobs and live deployments are charged into the ledger
// as they run (server/costs/meter.ts says how; a pass never charges time twice, so any process may run one).
import type { Db } from "@/db/client";
import { artifactStore } from "../tracking/artifacts";
import { meterCosts } from "../costs/meter";
import type { Loop } from "./runtime";

export class CostMeterLoop implements Loop {
  readonly name = "costs" as const;
  constructor(private readonly db: Db, readonly intervalMs: number) {}

  async tick(): Promise<void> {
    await meterCosts(this.db, new Date(), { store: artifactStore() });
  }
}
