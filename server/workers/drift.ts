// The drift worker, a loop (./runtime.ts): drift figures per deployment, window and feature from the sampled
// inference log against each version's training reference, and the log's retention (../drift/compute.ts does the work).
import type { Db } from "@/db/client";
import { computeDrift } from "../drift/compute";
import type { Loop } from "./runtime";

export class DriftLoop implements Loop {
  readonly name = "drift" as const;
  constructor(private readonly db: Db, readonly intervalMs: number, private readonly opts: { windowMinutes: number; retentionDays: number }) {}

  async tick(): Promise<void> {
    await computeDrift(this.db, this.opts);
  }
}
