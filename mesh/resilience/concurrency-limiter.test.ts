import { describe, expect, it } from "vitest";
import { createConcurrencyLimiter } from "./concurrency-limiter.ts";

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("adaptive concurrency limiter", () => {
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
    const l = createConcurrencyLimiter({ initialLimit: 10, minLimit: 2, maxLimit: 100 });
    // Saturated with steady 1 ms calls: the limit grows.
    for (let round = 0; round < 30; round++) {
      const batch = Array.from({ length: l.limit }, () => l.tryAcquire()!);
      busyWait(1);
      for (const a of batch) l.release(a, true);
    }
    const grown = l.limit;
    expect(grown).toBeGreaterThan(10);
    // Latency quadruples under the same saturation: the limit falls (before the long-term average
    // accepts the new latency as normal).
    for (let round = 0; round < 3; round++) {
      const batch = Array.from({ length: l.limit }, () => l.tryAcquire()!);
      busyWait(4);
      for (const a of batch) l.release(a, true);
    }
    expect(l.limit).toBeLessThan(grown);
  });

  it("falls when the event loop lags", () => {
    let lag = 0;
    const l = createConcurrencyLimiter({ initialLimit: 50, minLimit: 2, eventLoopDelayMs: () => lag });
    lag = 200;
    for (let i = 0; i < 10; i++) l.release(l.tryAcquire()!, true);
    expect(l.limit).toBeLessThan(20);
    expect(() => createConcurrencyLimiter({ minLimit: 10, maxLimit: 5 })).toThrow(/options.maxLimit/);
  });
});
