// The noise defences of the benchmarks: a warm-up that waits for the rate to stop rising, and runs on a
// slow core left out of the medians.
import { describe, expect, it } from "vitest";
import { countedRuns, markSlowCores, slowRunFilter, summarizeScenario, type RunProbes, type RunResult, type ScenarioResult } from "./results.ts";
import { describeWarmUp, stoppedFalling, stoppedRising, warmUntil, warmUntilSteady } from "./steady-state.ts";
import { warmUpBounds, warmUpFlags } from "./warm-up-flags.ts";

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

describe("warm-up until a cost stops falling (latency at a fixed offered rate, CPU per call)", () => {
  it("reads a falling p50 as unsettled and a floor (with noise) as settled", () => {
    expect(stoppedFalling([9.5, 6.1, 3.2, 2.4])).toBe(false); // still compiling, the adaptive limit still finding capacity
    expect(stoppedFalling([2.4, 2.1, 2.0, 2.05])).toBe(false);
    expect(stoppedFalling([2.0, 2.05, 2.02, 1.99])).toBe(true);
    expect(stoppedFalling([2.0, 2.05, 2.6, 2.9])).toBe(true); // rising again is not falling: settled
    expect(stoppedFalling([2.0, 2.0, 2.0])).toBe(false); // fewer than four windows
  });

  it("warmUntil waits for any settling rule over any sample, and a fixed warm-up claims nothing", async () => {
    const p50s = [12, 8, 5, 3, 2.1, 2.0, 2.02, 2.01, 2.0];
    let i = 0;
    // A warm-up that never settles fails here at once rather than spinning until maxMs.
    const windows = () => (i < p50s.length ? Promise.resolve({ p50: p50s[i++], refusedP50: 0.4 }) : Promise.reject(new Error("did not settle")));
    const warm = await warmUntil(windows, (w) => stoppedFalling(w.map((x) => x.p50)) && stoppedFalling(w.map((x) => x.refusedP50)), { minMs: 0, maxMs: 60_000 });
    expect(warm.steady).toBe(true);
    expect(warm.samples.map((w) => w.p50)).toEqual([12, 8, 5, 3, 2.1, 2.0, 2.02, 2.01]);

    const fixed = await warmUntil(() => Promise.resolve(1), () => true, { minMs: 0, maxMs: 0 });
    expect(fixed.steady).toBeUndefined();
    expect(fixed.samples).toHaveLength(1);
  });

  it("says the warm-up as the reports print it", () => {
    expect(describeWarmUp({ warmupMs: 9_140, steady: true })).toBe("9.1 s");
    expect(describeWarmUp({ warmupMs: 30_020, steady: false })).toBe("30.0 s (still rising)");
    expect(describeWarmUp({ warmupMs: 15_000, steady: false }, "still falling")).toBe("15.0 s (still falling)");
    expect(describeWarmUp({ warmupMs: 300, steady: undefined })).toBe("0.3 s (fixed)");
  });
});

describe("the --warmup / --max-warmup flags", () => {
  const defaults = { minS: 5, maxS: 30, quickS: 0.3, until: "the req/s stop rising" };

  it("default to a steady-state warm-up, and to a fixed one in quick mode", () => {
    expect(warmUpBounds({}, defaults, false)).toEqual({ minMs: 5_000, maxMs: 30_000 });
    expect(warmUpBounds({}, defaults, true)).toEqual({ minMs: 300, maxMs: 300 });
    expect(warmUpBounds({ warmup: "2" }, defaults, true)).toEqual({ minMs: 2_000, maxMs: 2_000 });
    expect(warmUpBounds({ warmup: "2", "max-warmup": "8" }, defaults, false)).toEqual({ minMs: 2_000, maxMs: 8_000 });
    expect(warmUpBounds({}, { ...defaults, quickS: undefined }, true)).toEqual({ minMs: 5_000, maxMs: 5_000 });
  });

  it("say in --help what settles and what a quick run does", () => {
    const flags = warmUpFlags(defaults);
    expect(flags.warmup.description).toContain("the req/s stop rising");
    expect(flags.warmup.defaultText).toBe("5, quick 0.3");
    expect(warmUpFlags({ ...defaults, quickS: undefined })["max-warmup"].defaultText).toBe("30");
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

describe("slow runs of any shape (the benches outside bench/run.ts)", () => {
  const probes = (serverMs: number, loadMs = 8.3): RunProbes => ({ before: { serverMs, loadMs }, after: { serverMs, loadMs } });
  interface Round { readonly rate: number; readonly probe?: RunProbes }

  it("are judged against the fastest probe of the whole invocation, counted out of their group, and said", () => {
    const typed: Round[] = [{ rate: 900, probe: probes(8.2) }, { rate: 500, probe: probes(8.4, 15.1) }, { rate: 950, probe: probes(8.5) }];
    const raw: Round[] = [{ rate: 1000, probe: probes(8.3) }, { rate: 1100, probe: probes(8.6) }];
    const slow = slowRunFilter([...typed, ...raw], (r) => r.probe);
    expect(typed.map(slow.isSlow)).toEqual([false, true, false]);
    expect(slow.counted(typed).map((r) => r.rate)).toEqual([900, 950]);
    expect(slow.counted(raw)).toEqual(raw);
    expect(slow.note([typed, raw])).toMatch(/1 of 5 runs .* 1 of them were left out of the medians/);
  });

  it("are kept when a whole group was slow, and nothing is judged without probes (quick runs)", () => {
    const allSlow: Round[] = [{ rate: 1, probe: probes(16) }, { rate: 2, probe: probes(15.5) }];
    const fast: Round[] = [{ rate: 3, probe: probes(8.2) }];
    const slow = slowRunFilter([...allSlow, ...fast], (r) => r.probe);
    expect(slow.counted(allSlow)).toEqual(allSlow);
    expect(slow.note([allSlow, fast])).toMatch(/2 of 3 runs .* 0 of them were left out/);
    expect(countedRuns([1, 2, 3], (n) => n === 2)).toEqual([1, 3]);

    const unprobed: Round[] = [{ rate: 1 }, { rate: 2 }];
    const none = slowRunFilter(unprobed, (r) => r.probe);
    expect(unprobed.some(none.isSlow)).toBe(false);
    expect(none.note([unprobed])).toBe("No core speed probe (quick run).");
  });
});
