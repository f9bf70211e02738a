import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { redisClientOptions, waitForRedisReady } from "../../../mesh/redis/index.ts";
import { redisUrl } from "../servers.ts";

/** A connection with the stores' options, resolved once it is ready (the stores have no offline queue). */
export async function connectRedis(url = redisUrl()): Promise<Redis> {
  const redis = new Redis(url, redisClientOptions);
  await waitForRedisReady(redis, { timeoutMs: 5_000 });
  return redis;
}

/**
 * Test helper: unique key prefixes on the shared Redis (one run never sees another's keys) and the
 * cleanup of every key made under them.
 */
export function createTestPrefixes(label: string) {
  const run = randomUUID().slice(0, 8);
  const used: string[] = [];
  let n = 0;
  return {
    /** A fresh prefix, e.g. `weft-test:shop:inventory:1a2b3c4d:3:`. */
    next(): string {
      const prefix = `weft-test:shop:${label}:${run}:${n++}:`;
      used.push(prefix);
      return prefix;
    },
    /** Deletes every key under the prefixes handed out. */
    async cleanup(redis: Redis): Promise<void> {
      // A store that keeps its keys in one Cluster slot wraps the prefix in a hash tag (mesh/redis slotPrefix).
      for (const prefix of used.splice(0).flatMap((p) => [p, `{${p}}`])) {
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== "0");
      }
    },
  };
}
