// A retry budget as in Finagle and Linkerd: retries (and hedges) may add at most `retryRatio` of the
// requests seen in the last `windowMs`, plus `minRetriesPerSecond`, so a failing dependency never
// turns into a retry storm.

import { assertInt, assertNumber, WeftOptionsError } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createRetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per original request, over the window. Default 0.2 (retries add at most 20%). */
  readonly retryRatio?: number;
  /** Retries always allowed per second of window, so low-traffic callers can still retry. Default 10. */
  readonly minRetriesPerSecond?: number;
  /** Length of the sliding window, in milliseconds (a multiple of 1000). Default 10000. */
  readonly windowMs?: number;
}

/** Counts requests and grants retries within the budget. */
export interface RetryBudget {
  /** Records one original request (not a retry). */
  recordRequest(): void;
  /** Takes one retry from the budget; false when it is spent (the caller must not retry). */
  tryWithdraw(): boolean;
  /** Totals since creation. */
  readonly stats: { readonly requests: number; readonly retries: number; readonly denied: number };
}

/** Creates a retry budget. */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const retryRatio = options.retryRatio ?? 0.2;
  const minRetriesPerSecond = options.minRetriesPerSecond ?? 10;
  const windowMs = options.windowMs ?? 10_000;
  assertNumber(OPTIONS, retryRatio, "options.retryRatio", 0, 10);
  assertNumber(OPTIONS, minRetriesPerSecond, "options.minRetriesPerSecond", 0);
  assertInt(OPTIONS, windowMs, "options.windowMs", 1000);
  if (windowMs % 1000 !== 0) throw new WeftOptionsError(OPTIONS, `options.windowMs must be a multiple of 1000, got ${windowMs}`);
  const buckets = windowMs / 1000;
  const requests = new Float64Array(buckets);
  const retries = new Float64Array(buckets);
  let current = Math.floor(Date.now() / 1000);
  let sumRequests = 0;
  let sumRetries = 0;
  const stats = { requests: 0, retries: 0, denied: 0 };
  const reserve = minRetriesPerSecond * buckets;

  // Moves the window to now, clearing buckets that fell out of it.
  function advance(): number {
    const second = Math.floor(Date.now() / 1000);
    if (second !== current) {
      const steps = Math.min(second - current, buckets);
      for (let i = 1; i <= steps; i++) {
        const b = (current + i) % buckets;
        sumRequests -= requests[b];
        sumRetries -= retries[b];
        requests[b] = 0;
        retries[b] = 0;
      }
      current = second;
    }
    return current % buckets;
  }

  return {
    recordRequest() {
      requests[advance()]++;
      sumRequests++;
      stats.requests++;
    },
    tryWithdraw() {
      const b = advance();
      if (sumRetries + 1 > sumRequests * retryRatio + reserve) {
        stats.denied++;
        return false;
      }
      retries[b]++;
      sumRetries++;
      stats.retries++;
      return true;
    },
    stats,
  };
}
