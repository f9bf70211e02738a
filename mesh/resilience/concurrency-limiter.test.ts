import { describe, expect, it } from "vitest";
import { createConcurrencyLimiter } from "./concurrency-limiter.ts";

// A clock the test moves, so latencies are exact whatever else the machine is doing.
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe("adaptive concurrency limiter", () => {
  it("updates at most once per sampling window", () => {
    const l = createConcurrencyLimiter({ initialLimit: 50, minLimit: 2, eventLoopDelayMs: () => 500, sampleWindowMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      const batch = Array.from({ length: 40 }, () => l.tryAcquire()!);
      for (const a of batch) l.release(a, true);
    }
    expect(l.limit).toBe(50);
  });

  it("refuses beyond the limit at once", () => {
    const l = createConcurrencyLimiter({ initialLimit: 4, minLimit: 1, maxLimit: 10 });
    const admitted = [1, 2, 3, 4].map(() => l.tryAcquire());
    expect(admitted.every((a) => a !== undefined)).toBe(true);
    expect(l.tryAcquire()).toBeUndefined();
    expect(l.refused).toBe(1);
    l.release(admitted[0]!, true);
    expect(l.tryAcquire()).toBeDefined();
  });

  it("grows while latency is steady and falls when a queue forms", () => {
    // One update per batch of calls (as windows of 100 ms would do under steady traffic).
    const clock = fakeClock();
    const l = createConcurrencyLimiter({ initialLimit: 10, minLimit: 2, maxLimit: 100, sampleWindowMs: 0, minWindowSamples: 1, longWindows: 500, now: clock.now });
    // Saturated with steady 1 ms calls: the limit grows.
    for (let round = 0; round < 30; round++) {
      const batch = Array.from({ length: l.limit }, () => l.tryAcquire()!);
      clock.advance(1);
      for (const a of batch) l.release(a, true);
    }
    const grown = l.limit;
    expect(grown).toBeGreaterThan(10);
    // Latency quadruples under the same saturation: the limit falls (before the long-term average
    // accepts the new latency as normal).
    for (let round = 0; round < 3; round++) {
      const batch = Array.from({ length: l.limit }, () => l.tryAcquire()!);
      clock.advance(4);
      for (const a of batch) l.release(a, true);
    }
    expect(l.limit).toBeLessThan(grown);
  });

  it("falls when the event loop lags", () => {
    let lag = 0;
    const l = createConcurrencyLimiter({ initialLimit: 50, minLimit: 2, eventLoopDelayMs: () => lag, sampleWindowMs: 0, minWindowSamples: 1 });
    lag = 200;
    // Busy (at least half the limit in flight) while the loop lags: the limit falls.
    for (let i = 0; i < 10; i++) {
      const batch = Array.from({ length: Math.min(30, l.limit) }, () => l.tryAcquire()!);
      for (const a of batch) l.release(a, true);
    }
    expect(l.limit).toBeLessThan(20);
    // Idle while the loop lags (someone else's CPU): no reason to shed.
    const idle = createConcurrencyLimiter({ initialLimit: 50, minLimit: 2, eventLoopDelayMs: () => lag, sampleWindowMs: 0, minWindowSamples: 1 });
    for (let i = 0; i < 100; i++) idle.release(idle.tryAcquire()!, true);
    expect(idle.limit).toBe(50);
    expect(() => createConcurrencyLimiter({ minLimit: 10, maxLimit: 5 })).toThrow(/options.maxLimit/);
  });
});
