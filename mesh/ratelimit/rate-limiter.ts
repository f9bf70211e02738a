// The contract every rate limiter of the runtime keeps (Redis-shared or in-process): a bucket's rate
// and burst, and one decision per request, with GCRA semantics (a token bucket that stores one time).

import { assertInt, assertNumber } from "../errors/index.ts";

/** How much a key may do: `burst` units at once, refilled at `ratePerSecond` units a second. */
export interface RateBucket {
  /** Units refilled per second (fractions allowed: 0.5 = one unit every 2 s). */
  readonly ratePerSecond: number;
  /** Most units a key may spend at once (the bucket's size); every cost must fit in it. */
  readonly burst: number;
}

/** One decision. */
export interface RateDecision {
  /** True when the request may go ahead (its cost was taken). */
  readonly allowed: boolean;
  /** When refused: ms until a request of this cost would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
}

/** Takes `cost` units from `key`'s allowance in `bucket`, or says how long to wait. */
export interface RateLimiter {
  /** Rejects (a ConnectError, UNAVAILABLE) when the limiter's store cannot decide. */
  take(key: string, cost: number, bucket: RateBucket): Promise<RateDecision>;
}

/** Most units a bucket may hold (keeps every GCRA time within a double's exact integers). */
export const MAX_BURST = 1_000_000;

/** Throws WEFT_ERR_RATELIMIT_OPTIONS naming `field` unless `bucket` is a valid bucket. */
export function assertBucket(bucket: RateBucket, field: string): void {
  assertNumber("WEFT_ERR_RATELIMIT_OPTIONS", bucket?.ratePerSecond, `${field}.ratePerSecond`, 1e-6, 1e6);
  assertInt("WEFT_ERR_RATELIMIT_OPTIONS", bucket.burst, `${field}.burst`, 1, MAX_BURST);
}

/** Microseconds between two units of `bucket` (the GCRA emission interval), at least 1. */
export function emissionIntervalUs(bucket: RateBucket): number {
  return Math.max(1, Math.round(1e6 / bucket.ratePerSecond));
}
