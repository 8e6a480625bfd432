import { describe, expect, it } from "vitest";
import { formatCount, formatDurationSeconds, formatRelative, formatUsd } from "./format";

describe("formats", () => {
  it("writes money one way: dollars and cents, sub-cent amounts with four decimals", () => {
    expect(formatUsd(73)).toBe("$73.00");
    expect(formatUsd(146)).toBe("$146.00");
    expect(formatUsd(5000)).toBe("$5,000.00");
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(0.0042)).toBe("<$0.01");
    expect(formatUsd(0.0089)).toBe("$0.01");
  });

  it("writes durations one way, rounding to the unit shown", () => {
    expect(formatDurationSeconds(42.4)).toBe("42 s");
    expect(formatDurationSeconds(59.6)).toBe("1 min 0 s");
    expect(formatDurationSeconds(96)).toBe("1 min 36 s");
    expect(formatDurationSeconds(7500)).toBe("2 h 5 min");
    expect(formatDurationSeconds(3599.7)).toBe("1 h 0 min");
  });

  it("counts with the right noun", () => {
    expect(formatCount(1, "point")).toBe("1 point");
    expect(formatCount(2048, "point")).toBe("2,048 points");
    expect(formatCount(0, "replica")).toBe("0 replicas");
  });

  it("rounds relative times to the nearest unit", () => {
    const now = Date.parse("2026-12-04T12:00:00Z");
    const at = (ms: number) => new Date(now + ms).toISOString();
    expect(formatRelative(at(7 * 86400_000 - 60_000), now)).toBe("in 7 days");
    expect(formatRelative(at(-90 * 60_000), now)).toBe("2 hours ago");
    expect(formatRelative(at(-59 * 60_000), now)).toBe("59 minutes ago");
    expect(formatRelative(at(-1000), now)).toBe("just now");
    expect(formatRelative(at(-86400_000), now)).toBe("1 day ago");
  });
});
