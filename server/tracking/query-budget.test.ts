// A team that floods expensive reads (more at once than its slots) while another team also reads gets its slots
// at a duty cycle (CAIRN_QUERY_FLOOD_SHARE): each read is followed by a rest before its next waiting read starts.
// Alone, or within its slots, a team is never paced. No database: the slots are this process's own.
import { describe, expect, it, vi } from "vitest";
import type { BudgetTeam } from "./query-budget";
import { AppError } from "../errors";
import { parseWithinBudget, REFUSAL_CHARGE_MS, slotsInUse, withTeamSlot } from "./query-budget";

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

const refuse = () => {
  throw new AppError("invalid_input", "More than 50 conditions");
};
/** `n` refused parses fired at once by `t`: how long until all were answered, and what each was answered. */
async function refusals(t: BudgetTeam, n: number): Promise<{ ms: number; answers: string[] }> {
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: n }, () => parseWithinBudget(t, refuse).then(() => "parsed", (e: AppError) => e.message)));
  return { ms: performance.now() - started, answers };
}

describe("a flooding team's pace", () => {
  // First: no other team has read in this process yet (a team's recent slot time decays over about a second).
  it("answers a parse that succeeds with its result, and refusals while no other team reads at once, with their own message", async () => {
    expect(await parseWithinBudget(team("churn"), () => 42)).toBe(42);
    // Three: their charge (3 × REFUSAL_CHARGE_MS) stays under what makes a team count as reading for the next test.
    const { ms, answers } = await refusals(team("churn"), 3);
    expect(answers).toEqual(Array(3).fill("More than 50 conditions"));
    expect(ms).toBeLessThan(50);
  });

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

describe("refused requests within the budget", () => {
  it("while another team reads, paces a team firing refusals beyond its slots as it would reads of REFUSAL_CHARGE_MS", async () => {
    const churn = team("churn");
    const fraud = team("fraud");
    const stopReading = keepReading(fraud, 20);
    await sleep(30);
    const { ms, answers } = await refusals(churn, 10);
    await stopReading();
    expect(answers).toEqual(Array(10).fill("More than 50 conditions"));
    // Each refusal holds the slot REFUSAL_CHARGE_MS, and each of the 9 handovers rests REFUSAL_CHARGE_MS × (1 − 0.5)
    // ÷ 0.5 (timers only run late, never early).
    expect(ms).toBeGreaterThanOrEqual(19 * REFUSAL_CHARGE_MS - 5);
    expect(slotsInUse(churn.id)).toBe(0);
  });

  it("throws any other failure at once, without taking a slot", async () => {
    const churn = team("churn");
    const fraud = team("fraud");
    const stopReading = keepReading(fraud, 20);
    await sleep(30);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 10 }, () => parseWithinBudget(churn, () => {
      throw new Error("boom");
    }).catch((e: Error) => e.message)));
    await stopReading();
    expect(answers).toEqual(Array(10).fill("boom"));
    expect(performance.now() - started).toBeLessThan(REFUSAL_CHARGE_MS * 4);
  });
});
