// A run follows its job: the run's status when the job ends (or is retried), its end time set once.
import { eq, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { runs } from "@/db/schema";
import type { RunStatus } from "@/db/schema";

export async function setRunStatus(tx: DbOrTx, runId: string, status: RunStatus, at: Date): Promise<void> {
  await tx.update(runs).set({ status, endTime: sql`coalesce(${runs.endTime}, ${at.getTime()})` }).where(eq(runs.id, runId));
}
