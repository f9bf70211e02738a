// Public entry of mesh/ratelimit: GCRA rate limits shared by replicas through Redis (one Lua script on
// Redis's clock), an in-process limiter with the same decisions, and the call hook that applies a
// per-method cost table, refusing with RESOURCE_EXHAUSTED and a google.rpc.RetryInfo detail.

export type { LocalRateLimiterOptions } from "./local-rate-limiter.ts";
export { createLocalRateLimiter } from "./local-rate-limiter.ts";
export type { MethodRateLimit, RateLimitHooksOptions } from "./rate-limit-hooks.ts";
export { createRateLimitHooks } from "./rate-limit-hooks.ts";
export type { RateBucket, RateDecision, RateLimiter } from "./rate-limiter.ts";
export { MAX_BURST } from "./rate-limiter.ts";
export type { RedisRateLimiterOptions } from "./redis-rate-limiter.ts";
export { createRedisRateLimiter } from "./redis-rate-limiter.ts";
export { rateLimitedError, retryDelayMs } from "./retry-info.ts";
