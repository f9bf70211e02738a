import { describe, expect, it } from "vitest";
import { createRetryBudget } from "./retry-budget.ts";

describe("retry budget", () => {
  it("allows 20% of requests plus the per-second reserve, then denies", () => {
    const budget = createRetryBudget({ retryRatio: 0.2, minRetriesPerSecond: 1, windowMs: 2000 });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    let granted = 0;
    while (budget.tryWithdraw()) granted++;
    // 100 x 0.2 + 1/s x 2 s
    expect(granted).toBe(22);
    expect(budget.stats).toEqual({ requests: 100, retries: 22, denied: 1 });
  });

  it("always allows the reserve when there is no traffic", () => {
    const budget = createRetryBudget({ minRetriesPerSecond: 10, windowMs: 1000 });
    let granted = 0;
    while (budget.tryWithdraw()) granted++;
    expect(granted).toBe(10);
  });

  it("names the bad field", () => {
    expect(() => createRetryBudget({ retryRatio: -1 })).toThrow(/options.retryRatio/);
    expect(() => createRetryBudget({ windowMs: 1500 })).toThrow(/options.windowMs/);
  });
});
