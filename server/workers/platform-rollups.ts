// The Platform page's own history, a worker loop (./runtime.ts): once a minute the job queue and active users
// are sampled into platform_minutes, and API and platform rollups older than 30 days are deleted. Every process
// writes its own API rollups on a timer (server/observability/api-rollups.ts); only the leader samples and prunes.
import type { Db } from "@/db/client";
import { prunePlatformRollups } from "../observability/api-rollups";
import { samplePlatform } from "../observability/platform-samples";
import type { Loop } from "./runtime";

export class PlatformRollupLoop implements Loop {
  readonly name = "platform" as const;
  private lastPrune = 0;
  constructor(private readonly db: Db, readonly intervalMs = 60_000, private readonly now: () => Date = () => new Date()) {}

  async tick(): Promise<void> {
    const now = this.now();
    await samplePlatform(this.db, now);
    // Hourly is often enough to keep 30 days.
    if (now.getTime() - this.lastPrune >= 3_600_000) {
      await prunePlatformRollups(this.db, now);
      this.lastPrune = now.getTime();
    }
  }
}
