// GCRA shared by every replica through Redis: one EVALSHA per decision, bounded in time; a Redis that
// cannot answer is UNAVAILABLE (the hooks then fail closed or open per method).

import type { Redis } from "ioredis";
import { assertInt, assertNonEmpty } from "../errors/index.ts";
import { redisCall, withTimeout } from "../redis/index.ts";
import { GCRA_LUA } from "./gcra-script.ts";
import { emissionIntervalUs, type RateBucket, type RateDecision, type RateLimiter } from "./rate-limiter.ts";

/** Options of {@link createRedisRateLimiter}. */
export interface RedisRateLimiterOptions {
  /** The connection (mesh/redis `redisClientOptions`: commands fail at once while it is down). Required. */
  readonly redis: Redis;
  /** Prefix of every key, e.g. "weft:ratelimit:". Default "weft:ratelimit:". */
  readonly keyPrefix?: string;
  /** Longest wait for Redis's answer before the decision counts as unavailable. Default 250 ms. */
  readonly timeoutMs?: number;
}

const COMMAND = "weftRateLimitGcra";

/** A limiter whose allowance every replica sharing `redis` and `keyPrefix` draws from. */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const { redis } = options;
  if (typeof redis?.defineCommand !== "function") assertNonEmpty("WEFT_ERR_RATELIMIT_OPTIONS", undefined, "redis");
  const keyPrefix = options.keyPrefix ?? "weft:ratelimit:";
  assertNonEmpty("WEFT_ERR_RATELIMIT_OPTIONS", keyPrefix, "keyPrefix");
  const timeoutMs = options.timeoutMs ?? 250;
  assertInt("WEFT_ERR_RATELIMIT_OPTIONS", timeoutMs, "timeoutMs", 1, 60_000);
  if (typeof (redis as unknown as Record<string, unknown>)[COMMAND] !== "function") redis.defineCommand(COMMAND, { lua: GCRA_LUA, numberOfKeys: 1 });
  const gcra = (redis as unknown as Record<string, (...args: Array<string | number>) => Promise<[number, number]>>)[COMMAND];
  return {
    take(key: string, cost: number, bucket: RateBucket): Promise<RateDecision> {
      return redisCall("rate limit", async () => {
        const [allowed, retryAfterUs] = await withTimeout(gcra.call(redis, keyPrefix + key, emissionIntervalUs(bucket), bucket.burst, cost), timeoutMs);
        return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : Math.ceil(retryAfterUs / 1000) };
      });
    },
  };
}
