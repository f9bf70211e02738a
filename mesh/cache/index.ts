export type { Cache, CacheLoadOptions } from "./cache.ts";
export { createMemoryCache } from "./memory-cache.ts";
export type { MemoryCacheOptions } from "./memory-cache.ts";
export { DEFAULT_TTL_JITTER, DEFAULT_TTL_MS } from "./ttl.ts";
