// The in-process limiter: the same GCRA decisions as the Redis script (burst, then the rate, a retry
// delay when refused), and a bounded key table.

import { describe, expect, it } from "vitest";
import { createLocalRateLimiter } from "./local-rate-limiter.ts";

describe("local rate limiter", () => {
  it("allows the burst, refuses with the time until one cost refills, then allows at the rate", async () => {
    let now = 1_000_000_000;
    const limiter = createLocalRateLimiter({ nowUs: () => now });
    const bucket = { ratePerSecond: 10, burst: 3 };
    const take = async (cost = 1) => (await limiter.take("k", cost, bucket)).allowed;
    expect([await take(), await take(), await take(), await take()]).toEqual([true, true, true, false]);
    expect((await limiter.take("k", 1, bucket)).retryAfterMs).toBe(100);
    now += 100_000;
    expect(await take()).toBe(true);
    expect(await take()).toBe(false);
    now += 250_000;
    expect((await limiter.take("k", 3, bucket)).retryAfterMs).toBe(50);
    expect(await take(2)).toBe(true);
    // Another key has its own allowance.
    expect((await limiter.take("other", 3, bucket)).allowed).toBe(true);
  });

  it("keeps at most maxKeys keys", async () => {
    const limiter = createLocalRateLimiter({ maxKeys: 100, nowUs: () => 0 });
    for (let i = 0; i < 1_000; i++) await limiter.take(`k${i}`, 1, { ratePerSecond: 1, burst: 5 });
    expect(limiter.size).toBeLessThanOrEqual(100);
    expect(() => createLocalRateLimiter({ maxKeys: 0 })).toThrow(/maxKeys/);
  });
});
