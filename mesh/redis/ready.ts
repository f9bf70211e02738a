// Waiting for a Redis connection to be ready: connections have no offline queue (redisClientOptions),
// so a `main` waits before seeding or serving, for a bounded time.

import type { Redis } from "ioredis";
import { WeftError } from "../errors/index.ts";

/** Options of {@link waitForRedisReady}. */
export interface RedisReadyOptions {
  /** How long to wait, in milliseconds. Default 10,000. */
  readonly timeoutMs?: number;
  /** Stops waiting (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/**
 * Resolves once `redis` is ready for commands. Rejects with a WeftError WEFT_ERR_REDIS_NOT_READY after
 * `timeoutMs` or if the connection ends first; the message names the setting (REDIS_URL), never the URL.
 */
export function waitForRedisReady(redis: Redis, options: RedisReadyOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signal = options.signal;
  if (redis.status === "ready") return Promise.resolve();
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      redis.off("end", onEnd);
      signal?.removeEventListener("abort", onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const notReady = (why: string) =>
      new WeftError("WEFT_ERR_REDIS_NOT_READY", `Redis (REDIS_URL) ${why}, set REDIS_URL to a running Redis such as redis://127.0.0.1:6379 (npm run services starts one) or unset it for in-memory state`);
    const onReady = () => done();
    const onEnd = () => done(notReady("closed the connection before it was ready"));
    const onAbort = () => done(signal!.reason);
    const timer = setTimeout(() => done(notReady(`was not ready within ${timeoutMs} ms`)), timeoutMs);
    redis.on("ready", onReady);
    redis.on("end", onEnd);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
