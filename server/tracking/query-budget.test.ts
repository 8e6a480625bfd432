// A team that floods expensive reads (more at once than its slots) while another team also reads gets its slots
// at a duty cycle (CAIRN_QUERY_FLOOD_SHARE): each read is followed by a rest before its next waiting read starts.
// Alone, or within its slots, a team is never paced. No database: the slots are this process's own.
import { describe, expect, it, vi } from "vitest";
import type { BudgetTeam } from "./query-budget";
import { paceRefusal, REFUSAL_CHARGE_MS, slotsInUse, withTeamSlot } from "./query-budget";

// Read once by env() on first use, before any test runs.
vi.stubEnv("CAIRN_QUERY_SLOTS_PER_TEAM", "1");
vi.stubEnv("CAIRN_QUERY_SLOT_WAIT_MS", "5000");
vi.stubEnv("CAIRN_QUERY_FLOOD_SHARE", "0.5");

let seq = 0;
const team = (slug: string): BudgetTeam => ({ id: `${slug}-${++seq}`, slug });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two reads of `holdMs` each asked for at once by `t`; when each started and ended (performance.now()). */
async function twoAtOnce(t: BudgetTeam, holdMs: number): Promise<{ start: number; end: number }[]> {
  const read = () => withTeamSlot(t, "search", async () => {
    const start = performance.now();
    await sleep(holdMs);
    return { start, end: performance.now() };
  });
  return Promise.all([read(), read()]);
}

/** `t` reading over and over (each read holding its slot `holdMs`, then resting `pauseMs`) until the returned stop. */
function keepReading(t: BudgetTeam, holdMs: number, pauseMs = 0): () => Promise<void> {
  let reading = true;
  const loop = (async () => {
    while (reading) {
      await withTeamSlot(t, "search", () => sleep(holdMs));
      if (pauseMs > 0) await sleep(pauseMs);
    }
  })();
  return async () => {
    reading = false;
    await loop;
  };
}

describe("a flooding team's pace", () => {
  it("alone, a team's waiting read starts as soon as the slot frees", async () => {
    const [first, second] = await twoAtOnce(team("churn"), 200);
    expect(second!.start - first!.end).toBeLessThan(150);
  });

  it("while another team reads, the waiting read starts only after a rest as long as the read before it (share 0.5)", async () => {
    const churn = team("churn");
    const fraud = team("fraud");
    const stopReading = keepReading(fraud, 20);
    const [first, second] = await twoAtOnce(churn, 200);
    await stopReading();
    // Rest = held × (1 − 0.5) ÷ 0.5 = the 200 ms it held the slot (timers only run late, never early).
    expect(second!.start - first!.end).toBeGreaterThanOrEqual(190);
    // The other team, within its one slot, was never paced: it kept reading back to back.
    expect(slotsInUse(fraud.id)).toBe(0);
    expect(slotsInUse(churn.id)).toBe(0);
  });

  it("a team within its slots is not paced even while another team floods", async () => {
    const churn = team("churn");
    const fraud = team("fraud");
    let flooding = true;
    const flood = Promise.all(Array.from({ length: 3 }, async () => {
      while (flooding) await withTeamSlot(churn, "search", () => sleep(30));
    }));
    await sleep(50);
    const gaps: number[] = [];
    let last = performance.now();
    for (let i = 0; i < 5; i++) {
      await withTeamSlot(fraud, "search", async () => {
        gaps.push(performance.now() - last);
        await sleep(20);
      });
      last = performance.now();
    }
    flooding = false;
    await flood;
    expect(Math.max(...gaps)).toBeLessThan(100);
  });

  it("a team that stopped reading a second ago no longer paces the flooding one", async () => {
    const churn = team("churn");
    const fraud = team("fraud");
    await withTeamSlot(fraud, "search", () => sleep(5));
    await sleep(1100);
    const [first, second] = await twoAtOnce(churn, 200);
    expect(second!.start - first!.end).toBeLessThan(150);
  });

  it("another team that only reads now and then (a short read every 300 ms) paces nobody: a burst over the slot is served in turn, none refused", async () => {
    const victim = team("churn");
    const pinger = team("fraud");
    const stopPinging = keepReading(pinger, 1, 300);
    await sleep(20);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 10 }, () => withTeamSlot(victim, "search", () => sleep(100)).then(() => "ok", (e: { code?: string }) => e.code)));
    await stopPinging();
    expect(results.filter((r) => r !== "ok")).toEqual([]);
    // Ten 100 ms reads back to back, not paced into twice that.
    expect(performance.now() - started).toBeLessThan(1800);
  });
});

describe("a caller's refusals", () => {
  /** `n` refusals of `caller` one after another, each answered when paceRefusal lets it: the time each waited. */
  async function refusals(caller: string, n: number): Promise<number[]> {
    const waits: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      await paceRefusal(caller);
      waits.push(performance.now() - started);
    }
    return waits;
  }

  it("while any team reads, leave one per REFUSAL_CHARGE_MS ÷ share per caller, the first at once; another caller's are its own", async () => {
    const fraud = team("fraud");
    const stopReading = keepReading(fraud, 20);
    await sleep(30);
    const started = performance.now();
    const waits = await refusals(`user-${++seq}`, 10);
    const took = performance.now() - started;
    const other = await refusals(`user-${++seq}`, 1);
    await stopReading();
    expect(waits[0]).toBeLessThan(REFUSAL_CHARGE_MS);
    // 9 more, each REFUSAL_CHARGE_MS ÷ 0.5 after the one before (timers only run late, never early).
    expect(took).toBeGreaterThanOrEqual(9 * REFUSAL_CHARGE_MS / 0.5 - 5);
    expect(other[0]).toBeLessThan(REFUSAL_CHARGE_MS);
  });

  it("while no team reads, are answered at once however many come", async () => {
    await sleep(2500);
    expect(paceRefusal(`user-${++seq}`)).toBeUndefined();
    const caller = `user-${++seq}`;
    for (let i = 0; i < 50; i++) expect(paceRefusal(caller)).toBeUndefined();
  });
});

describe("a burst within the slot wait", () => {
  it("is spread out by the pacing but never refused by it: a read whose wait runs out while its team's slot only rests takes the slot", async () => {
    const churn = team("churn");
    const fraud = team("fraud");
    const stopReading = keepReading(fraud, 20);
    await sleep(30);
    // 1 slot, reads of 1.5 s, rests of 1.5 s (share 0.5): the third read, waiting since the start with a 5 s wait,
    // would start at 6 s; at 5 s the slot is resting, and the read takes it.
    const results = await Promise.all(Array.from({ length: 3 }, () => withTeamSlot(churn, "search", () => sleep(1500)).then(() => "ok", (e: { code?: string }) => e.code)));
    await stopReading();
    expect(results).toEqual(["ok", "ok", "ok"]);
  }, 15_000);
});
