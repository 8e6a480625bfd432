import { readdirSync } from "node:fs";
import path from "node:path";
import { desc } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { AuditAnchorLoop } from "../workers/audit-anchor";
import { WorkerRuntime } from "../workers/runtime";
import { anchorFile, readAnchor } from "./anchor";
import { recordAudit } from "./record";

const db = demoDatabase();

describe("audit anchor loop", () => {
  it("follows the chain's head off the request path, writing the file whole", async () => {
    expect(readAnchor()).toBeNull();
    const workers = new WorkerRuntime({ election: { kind: "single" }, loops: [new AuditAnchorLoop(db(), 100)] });
    await workers.start();
    try {
      const ctx = await ctxFor(db(), DEMO.lead);
      for (let i = 0; i < 3; i++) await recordAudit(ctx, { action: "test.anchor", target: `thing:${i}` });
      const [head] = await db().select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(1);
      const deadline = Date.now() + 5000;
      while (readAnchor()?.id !== head!.id && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(readAnchor()).toMatchObject({ id: head!.id, hash: head!.hash });
      expect(readdirSync(path.dirname(anchorFile())).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    } finally {
      await workers.stop();
    }
  });
});
