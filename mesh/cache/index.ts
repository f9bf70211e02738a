export type { Cache, CacheLoadOptions } from "./cache.ts";
export { createMemoryCache } from "./memory-cache.ts";
export type { MemoryCacheOptions } from "./memory-cache.ts";
export { createRedisCache, redisCacheClientOptions } from "./redis-cache.ts";
export type { RedisCacheOptions } from "./redis-cache.ts";
export type { BreakerState } from "./circuit-breaker.ts";
export { redisToConnectError } from "./redis-errors.ts";
export { DEFAULT_TTL_JITTER, DEFAULT_TTL_MS } from "./ttl.ts";
