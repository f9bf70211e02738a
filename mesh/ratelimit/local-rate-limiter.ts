// GCRA in process memory: the same decisions as the Redis script for one process (the fallback while
// Redis is away, and the limiter of a single-process shop). Bounded: expired keys go first, then the oldest.

import { assertInt } from "../errors/index.ts";
import { emissionIntervalUs, type RateBucket, type RateDecision, type RateLimiter } from "./rate-limiter.ts";

/** Options of {@link createLocalRateLimiter}. */
export interface LocalRateLimiterOptions {
  /** Most keys remembered; past it, expired keys are dropped, then the oldest. Default 10,000. */
  readonly maxKeys?: number;
  /** The clock in µs. Default: `performance.timeOrigin + performance.now()` in µs. */
  readonly nowUs?: () => number;
}

/** An in-process GCRA limiter. */
export function createLocalRateLimiter(options: LocalRateLimiterOptions = {}): RateLimiter & { readonly size: number } {
  const maxKeys = options.maxKeys ?? 10_000;
  assertInt("WEFT_ERR_RATELIMIT_OPTIONS", maxKeys, "maxKeys", 1);
  const nowUs = options.nowUs ?? (() => Math.round((performance.timeOrigin + performance.now()) * 1000));
  const tats = new Map<string, number>();
  const makeRoom = (now: number) => {
    for (const [key, tat] of tats) if (tat <= now) tats.delete(key);
    // Still full: drop the oldest tenth at once (Map order is insertion order, and a key is re-inserted
    // on each use), so a flood of new keys does not rescan the map on every call.
    let excess = tats.size - Math.floor(maxKeys * 0.9);
    for (const key of tats.keys()) {
      if (excess-- <= 0) break;
      tats.delete(key);
    }
  };
  return {
    take(key: string, cost: number, bucket: RateBucket): Promise<RateDecision> {
      const now = nowUs();
      const interval = emissionIntervalUs(bucket);
      const tat = Math.max(tats.get(key) ?? now, now);
      const newTat = tat + cost * interval;
      const allowAt = newTat - bucket.burst * interval;
      if (allowAt > now) return Promise.resolve({ allowed: false, retryAfterMs: Math.ceil((allowAt - now) / 1000) });
      tats.delete(key);
      if (tats.size >= maxKeys) makeRoom(now);
      tats.set(key, newTat);
      return Promise.resolve({ allowed: true, retryAfterMs: 0 });
    },
    get size() {
      return tats.size;
    },
  };
}
