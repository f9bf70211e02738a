import type { Redis } from "ioredis";

/**
 * Resolves once `redis` is ready for commands. Store connections have no offline queue (see
 * `redisStoreClientOptions`), so a `main` awaits this before seeding or serving; it rejects after
 * `timeoutMs` (default 10,000) or if the connection ends, naming the problem without the URL.
 */
export function whenRedisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      redis.off("end", onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () => done(new Error("the Redis connection ended before it was ready"));
    const timer = setTimeout(() => done(new Error(`Redis was not ready within ${timeoutMs} ms`)), timeoutMs);
    redis.on("ready", onReady);
    redis.on("end", onEnd);
  });
}
