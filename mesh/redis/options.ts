// The one ioredis preset of the runtime and the services: fail fast while Redis is away, so callers
// get UNAVAILABLE (and retry elsewhere) instead of waiting for their deadline.

import type { RedisOptions } from "ioredis";

/**
 * ioredis options for every Redis connection (`new Redis(url, redisClientOptions)`):
 * - no offline queue and one retry per command: a command while disconnected fails at once;
 * - `autoResendUnfulfilledCommands: false`: a command written before the connection dropped is not
 *   sent again on reconnect (not every write is idempotent; the mesh client retries what is);
 * - a command timeout (2,000 ms) so a stalled Redis does not hold handlers forever, a 1,000 ms connect
 *   timeout and reconnects backing off 100 ms per attempt up to 1,000 ms.
 * Commands before "ready" fail at once: await {@link waitForRedisReady} before serving.
 */
export const redisClientOptions: Readonly<RedisOptions> = Object.freeze({
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 2_000,
  connectTimeout: 1_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
});
