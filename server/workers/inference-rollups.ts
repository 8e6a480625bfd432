// Rollup retention, a worker loop (./runtime.ts): the gateway's per-minute rollups older than 30 days are
// deleted (the longest window the metrics API answers). Every process writes its own rollups on a timer of
// its own (server/observability/inference-rollups.ts); only the leader prunes.
import type { Db } from "@/db/client";
import { pruneInferenceRollups } from "../observability/inference-rollups";
import type { Loop } from "./runtime";

export class InferenceRollupPruneLoop implements Loop {
  readonly name = "rollups" as const;
  constructor(private readonly db: Db, readonly intervalMs: number, private readonly now: () => Date = () => new Date()) {}

  async tick(): Promise<void> {
    await pruneInferenceRollups(this.db, this.now());
  }
}
