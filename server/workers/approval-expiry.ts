// Approval expiry, a worker loop (./runtime.ts): pending production-deploy requests past their deadline are
// recorded as expired. Reads never write; they already show such a request as expired.
import type { Db } from "@/db/client";
import { expireOverdueApprovals } from "../approvals/service";
import type { Loop } from "./runtime";

export class ApprovalExpiryLoop implements Loop {
  readonly name = "approvals" as const;
  constructor(private readonly db: Db, readonly intervalMs: number) {}

  async tick(): Promise<void> {
    await expireOverdueApprovals(this.db);
  }
}
