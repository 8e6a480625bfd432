// The autoscaler's decision, state in → decision out: scale-up at once, scale-down only after a stable
// window (and never below what the window asked for), the min/max bounds, the team's replica quota and the host's replica cap.
import { describe, expect, it } from "vitest";
import { deployModelSchema, scaleDeploymentSchema } from "@/lib/schemas/deployments";
import type { ScaleInput } from "./autoscaler";
import { FRESH, decideReplicas } from "./autoscaler";

const WINDOW = 60_000;
const input = (over: Partial<ScaleInput>): ScaleInput => ({
  now: 1_000_000, replicas: 1, inflight: 0, targetConcurrency: 4, minReplicas: 1, downWindowMs: WINDOW, memory: FRESH,
  ceilings: [{ value: 10, name: "max_replicas (10)" }], ...over,
});

describe("decideReplicas", () => {
  it("scales up on the first look at the load, to in flight ÷ target rounded up, with the reason", () => {
    const d = decideReplicas(input({ replicas: 1, inflight: 11.5 }));
    expect(d.replicas).toBe(3);
    expect(d.reason).toBe("scaled 1 → 3: 11.5 requests in flight per replica, target 4");
    expect(d.memory).toEqual(FRESH);
    // Exactly at the target is enough: 8 in flight at 4 per replica is two replicas.
    expect(decideReplicas(input({ replicas: 1, inflight: 8 })).replicas).toBe(2);
    expect(decideReplicas(input({ replicas: 2, inflight: 8 }))).toMatchObject({ replicas: 2, reason: null });
  });

  it("never passes max_replicas, and names the bound that held it", () => {
    const d = decideReplicas(input({ replicas: 2, inflight: 40, ceilings: [{ value: 3, name: "max_replicas (3)" }] }));
    expect(d.replicas).toBe(3);
    expect(d.reason).toContain("10 wanted, held at 3 by max_replicas (3)");
    expect(decideReplicas(input({ replicas: 3, inflight: 40, ceilings: [{ value: 3, name: "max_replicas (3)" }] }))).toMatchObject({ replicas: 3, reason: null });
  });

  it("never passes the host's cap (CAIRN_LOCAL_REPLICAS_MAX less the other deployments' replicas), nor cuts below what runs", () => {
    const ceilings = [{ value: 10, name: "max_replicas (10)" }, { value: 4, name: "CAIRN_LOCAL_REPLICAS_MAX" }];
    const d = decideReplicas(input({ replicas: 2, inflight: 30, ceilings }));
    expect(d.replicas).toBe(4);
    expect(d.reason).toContain("held at 4 by CAIRN_LOCAL_REPLICAS_MAX");
    // A full host: no change, and no event.
    expect(decideReplicas(input({ replicas: 2, inflight: 30, ceilings: [{ value: 1, name: "CAIRN_LOCAL_REPLICAS_MAX" }] }))).toMatchObject({ replicas: 2, reason: null });
  });

  it("never passes the team's replica quota, and names it when it is the lowest bound", () => {
    const team = { value: 3, name: "team quota max_replicas (churn runs 19 of 20)" };
    const d = decideReplicas(input({ replicas: 2, inflight: 30, ceilings: [{ value: 10, name: "max_replicas (10)" }, team, { value: 8, name: "CAIRN_LOCAL_REPLICAS_MAX" }] }));
    expect(d).toMatchObject({ replicas: 3, reason: "scaled 2 → 3: 15 requests in flight per replica, target 4; 8 wanted, held at 3 by team quota max_replicas (churn runs 19 of 20)" });
    // A team at its quota: no change; a team over it (an admin lowered it) is not cut down by the autoscaler either.
    expect(decideReplicas(input({ replicas: 2, inflight: 30, ceilings: [{ ...team, value: 2 }] }))).toMatchObject({ replicas: 2, reason: null });
    expect(decideReplicas(input({ replicas: 4, inflight: 30, ceilings: [{ ...team, value: 1 }] }))).toMatchObject({ replicas: 4, reason: null });
  });

  it("never goes below min_replicas, and brings a deployment under it up to it", () => {
    expect(decideReplicas(input({ replicas: 1, inflight: 0, minReplicas: 2 }))).toMatchObject({ replicas: 2, reason: "scaled 1 → 2: min_replicas is 2" });
    let memory = FRESH;
    for (let t = 0; t <= 2 * WINDOW; t += 10_000) {
      const d = decideReplicas(input({ now: t, replicas: 2, inflight: 0, minReplicas: 2, memory }));
      expect(d.replicas).toBe(2);
      memory = d.memory;
    }
    // min_replicas 0 keeps one replica: scaling to zero is not built.
    expect(decideReplicas(input({ replicas: 1, inflight: 0, minReplicas: 0 })).replicas).toBe(1);
  });

  it("scales down only after load stayed low for the whole window", () => {
    const low = input({ replicas: 3, inflight: 1 });
    const first = decideReplicas({ ...low, now: 0 });
    expect(first).toMatchObject({ replicas: 3, reason: null, memory: { belowSince: 0, peak: 1 } });
    const mid = decideReplicas({ ...low, now: WINDOW - 1, memory: first.memory });
    expect(mid.replicas).toBe(3);
    const done = decideReplicas({ ...low, now: WINDOW, memory: mid.memory });
    expect(done.replicas).toBe(1);
    expect(done.reason).toBe("scaled 3 → 1: 0.3 requests in flight per replica, target 4, below it for 60 s");
    expect(done.memory).toEqual(FRESH);
  });

  it("restarts the window when load comes back, and goes down no further than the busiest tick in the window", () => {
    const a = decideReplicas(input({ now: 0, replicas: 3, inflight: 0 }));
    // Load back at three replicas' worth: the window is forgotten.
    const b = decideReplicas(input({ now: 30_000, replicas: 3, inflight: 12, memory: a.memory }));
    expect(b).toMatchObject({ replicas: 3, memory: FRESH });
    const c = decideReplicas(input({ now: 40_000, replicas: 3, inflight: 0, memory: b.memory }));
    expect(decideReplicas(input({ now: 40_000 + WINDOW - 1, replicas: 3, inflight: 0, memory: c.memory })).replicas).toBe(3);
    // Within a window: a tick that wanted two keeps two.
    const d1 = decideReplicas(input({ now: 0, replicas: 3, inflight: 0 }));
    const d2 = decideReplicas(input({ now: 20_000, replicas: 3, inflight: 6, memory: d1.memory }));
    expect(d2.memory).toEqual({ belowSince: 0, peak: 2 });
    const d3 = decideReplicas(input({ now: WINDOW, replicas: 3, inflight: 0, memory: d2.memory }));
    expect(d3).toMatchObject({ replicas: 2 });
  });

  it("with a zero window scales down on the next look", () => {
    const a = decideReplicas(input({ now: 0, replicas: 2, inflight: 0, downWindowMs: 0 }));
    expect(a.replicas).toBe(2);
    expect(decideReplicas(input({ now: 1, replicas: 2, inflight: 0, downWindowMs: 0, memory: a.memory })).replicas).toBe(1);
  });
});

describe("target_concurrency in a deploy and a scale request", () => {
  const deploy = { environment: "staging", replicas: 1 } as const;
  const problems = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) => (r.error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);

  it("defaults to 4 and takes a whole number from 1 to 1000", () => {
    expect(deployModelSchema.parse(deploy).target_concurrency).toBe(4);
    expect(deployModelSchema.parse({ ...deploy, target_concurrency: 16 }).target_concurrency).toBe(16);
  });

  it("refuses anything else with a message that says what to send", () => {
    expect(problems(deployModelSchema.safeParse({ ...deploy, target_concurrency: 0 }))).toEqual(["target_concurrency: target_concurrency is at least 1 request in flight per replica"]);
    expect(problems(deployModelSchema.safeParse({ ...deploy, target_concurrency: 2.5 }))).toEqual(["target_concurrency: target_concurrency must be a whole number of requests in flight per replica, such as 4"]);
    expect(problems(deployModelSchema.safeParse({ ...deploy, target_concurrency: "4" }))).toEqual(["target_concurrency: target_concurrency must be a whole number of requests in flight per replica, such as 4"]);
    expect(problems(deployModelSchema.safeParse({ ...deploy, target_concurrency: 1001 }))).toEqual(["target_concurrency: target_concurrency is at most 1000 requests in flight per replica"]);
    expect(problems(scaleDeploymentSchema.safeParse({}))).toEqual([": give at least one of auto_scale, replicas, min_replicas, max_replicas, target_concurrency"]);
    expect(problems(scaleDeploymentSchema.safeParse({ min_replicas: 0 }))).toEqual(["min_replicas: min_replicas is at least 1 (scaling to zero is not built)"]);
    expect(problems(scaleDeploymentSchema.safeParse({ replicas: 2, paused: true }))).toHaveLength(1);
  });
});
