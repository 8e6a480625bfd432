// The split guard, a worker loop (./runtime.ts): automatic abort of traffic splits whose candidate regressed
// past the thresholds set, the end of splits whose deployments stopped serving, and the split request log's
// retention (../deployments/split-guard.ts does the work). Each abort is recorded as an event with the numbers.
import type { Db } from "@/db/client";
import { guardSplits } from "../deployments/split-guard";
import { wake } from "./registry";
import type { Loop } from "./runtime";
import { log } from "../observability/log";

export class SplitGuardLoop implements Loop {
  readonly name = "splits" as const;
  constructor(private readonly db: Db, readonly intervalMs: number, private readonly retentionDays: number) {}

  async tick(): Promise<void> {
    const pass = await guardSplits(this.db, { retentionDays: this.retentionDays });
    for (const a of pass.aborted) log.info(`traffic split ${a.splitId} aborted: ${a.reason}`);
    // An abort stopped a candidate: the reconciler releases its replicas.
    if (pass.aborted.length > 0) wake("deployments");
  }
}
