// Tenant sync, a worker loop (./runtime.ts), on the kubernetes backend: every team's namespace, ResourceQuota,
// LimitRange and RBAC are kept in place (server/tenants/sync.ts does one team). A team created or a quota
// changed wakes it, so the cluster follows at once rather than at the next interval.
import type { Db } from "@/db/client";
import type { TenantSyncer } from "../tenants/sync";
import type { Loop } from "./runtime";

export class TenantSyncLoop implements Loop {
  readonly name = "tenants" as const;
  constructor(private readonly db: Db, private readonly syncer: TenantSyncer, readonly intervalMs: number) {}

  async tick(): Promise<void> {
    await this.syncer.syncAll(this.db);
  }
}
