// The noise defences of the benchmarks: a warm-up that waits for the rate to stop rising, and runs on a
// slow core left out of the medians.
import { describe, expect, it } from "vitest";
import { markSlowCores, summarizeScenario, type RunResult, type ScenarioResult } from "./results.ts";
import { stoppedRising, warmUntilSteady } from "./steady-state.ts";

describe("warm-up until the rate stops rising", () => {
  it("reads a ramp as rising and a plateau (with noise) as steady", () => {
    expect(stoppedRising([4_100, 5_700, 14_500, 15_300])).toBe(false); // V8 still compiling
    expect(stoppedRising([15_300, 18_300, 19_300, 19_000])).toBe(false);
    expect(stoppedRising([18_300, 19_300, 19_000, 18_900])).toBe(true);
    expect(stoppedRising([19_000, 18_900, 19_400])).toBe(false); // fewer than four windows
  });

  it("goes on past the minimum while the rate rises, stops once it is flat, and never past the maximum", async () => {
    const ramp = [1, 2, 4, 8, 16, 30, 31, 30, 31, 31];
    let i = 0;
    const window = async () => ramp[Math.min(i++, ramp.length - 1)];
    const warm = await warmUntilSteady(window, { minMs: 0, maxMs: 60_000 });
    expect(warm.steady).toBe(true);
    expect(warm.rates).toEqual([1, 2, 4, 8, 16, 30, 31, 30, 31]); // the first four windows after the jump to 30 that are flat

    let j = 0;
    const rising = async () => {
      await new Promise((r) => setTimeout(r, 5));
      return ++j;
    };
    const capped = await warmUntilSteady(rising, { minMs: 0, maxMs: 40 });
    expect(capped.steady).toBe(false);
    expect(capped.warmupMs).toBeGreaterThanOrEqual(40);

    const fixed = await warmUntilSteady(async () => 5, { minMs: 0, maxMs: 0 });
    expect(fixed.steady).toBeUndefined(); // a fixed warm-up does not claim a steady state
    expect(fixed.rates).toHaveLength(1);
  });
});

describe("runs on a slow core", () => {
  const run = (n: number, rate: number, serverMs: number): RunResult => ({
    run: n, status: "ok", rate, problems: [],
    probe: { before: { serverMs, loadMs: 8.3 }, after: { serverMs, loadMs: 8.4 } },
  });
  const scenario = (runs: RunResult[]): ScenarioResult => ({ id: "grpc/x", group: "grpc", label: "x", generator: "g", runs });

  it("are marked against the fastest probe of the whole benchmark run and left out of the medians", () => {
    const a = scenario([run(1, 18_000, 8.2), run(2, 11_000, 15.9), run(3, 19_000, 8.6)]);
    const b = scenario([run(1, 9_000, 8.4), run(2, 9_500, 8.3), run(3, 9_200, 8.5)]);
    markSlowCores([a, b]);
    expect(a.runs.map((r) => r.slowCore)).toEqual([false, true, false]);
    const summary = summarizeScenario(a);
    expect(summary.slowRuns).toBe(1);
    expect(summary.median).toBe(18_500); // median of the two fast runs, not 18,000 with the slow one
    expect(summary.okRuns).toBe(3);
  });

  it("are kept when every run of a scenario was slow (and the summary says so)", () => {
    const slow = scenario([run(1, 10_000, 16), run(2, 11_000, 15.5)]);
    const fast = scenario([run(1, 9_000, 8.2)]);
    markSlowCores([slow, fast]);
    const summary = summarizeScenario(slow);
    expect(summary.slowRuns).toBe(2);
    expect(summary.median).toBe(10_500);
  });
});
