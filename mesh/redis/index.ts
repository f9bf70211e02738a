// Public entry of mesh/redis: the one Redis adapter of the runtime and the services: the ioredis
// preset, the translation of Redis failures to Connect codes, and a bounded wait for readiness.

export { redisClientOptions } from "./options.ts";
export { slotPrefix } from "./hash-tag.ts";
export type { RedisSentinelTarget } from "./connect.ts";
export { isRedisUrl, openRedis, parseRedisSentinelUrl, redisSentinelOptions } from "./connect.ts";
export { RedisBypassedError, redisCall, RedisTimeoutError, redisToConnectError, withTimeout } from "./errors.ts";
export type { RedisReadyOptions } from "./ready.ts";
export { waitForRedisReady } from "./ready.ts";
