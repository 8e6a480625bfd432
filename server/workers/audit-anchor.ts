// The audit anchor, a worker loop (./runtime.ts): keeps the anchor file (outside the database) at the audit
// chain's head, and says so in the log when the chain and the anchor disagree (server/audit/anchor.ts).
import type { Db } from "@/db/client";
import { refreshAnchor } from "../audit/anchor";
import type { Loop } from "./runtime";
import { log } from "../observability/log";

export class AuditAnchorLoop implements Loop {
  readonly name = "audit-anchor" as const;
  private lastProblem: string | null = null;
  constructor(private readonly db: Db, readonly intervalMs: number) {}

  async tick(): Promise<void> {
    const { problem } = await refreshAnchor(this.db);
    if (problem && problem !== this.lastProblem) log.error(`audit anchor: ${problem} Run GET /api/v1/audit/verify as an admin.`);
    this.lastProblem = problem;
  }
}
