// GET /api/v1/jobs/{id}/logs?follow=true: a live log stops for a caller who lost access while it streams.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GET } from "@/app/api/v1/jobs/[id]/logs/route";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { jobLogFile, submitJob } from "@/server/jobs/service";
import { revokeTokenById } from "@/server/tokens/service";
import { createToken } from "@/server/tokens/service";
import { createExperiment } from "@/server/tracking/experiments";
import { ctxFor, DEMO, demoDatabase } from "@/server/testing/fixtures";

const db = demoDatabase();

async function read(res: Response, until: (text: string) => boolean, ms: number): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !until(text)) {
    const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
    if (!chunk || chunk.done) break;
    text += decoder.decode(chunk.value);
  }
  await reader.cancel().catch(() => undefined);
  return text;
}

describe("GET /api/v1/jobs/{id}/logs?follow=true", () => {
  it("ends within seconds once the caller's token is revoked, while the job still runs", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = await createExperiment(ctx, { name: `logs-${Date.now()}`, team: "churn" });
    const job = await submitJob(ctx, exp.experiment_id, trainJobSchema.parse({ command: ["true"], instance_type: "cpu.small" }));
    const file = jobLogFile(job.job_id);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, "line 1\nline 2\n");
    const token = await createToken(ctx, { name: "stream", team: "churn", expires_in_days: 1 });
    const req = new Request(`http://localhost/api/v1/jobs/${job.job_id}/logs?follow=true`, { headers: { authorization: `Bearer ${token.token}` } });
    const res = await GET(req, { params: Promise.resolve({ id: job.job_id }) });
    expect(res.status).toBe(200);
    const started = Date.now();
    const reading = read(res, (t) => t.includes("access ended"), 8_000);
    await new Promise((r) => setTimeout(r, 300));
    await revokeTokenById(db(), token.id);
    const text = await reading;
    expect(text).toContain("data: line 2");
    expect(text).toContain("event: end\ndata: access ended");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
