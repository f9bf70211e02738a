import type { Redis } from "ioredis";
import { redisCall } from "../../mesh/redis/index.ts";
import type { OrderLog } from "./order-log.ts";
import { createOrderColumns } from "./packed-orders.ts";

/** Options of {@link createRedisOrderLog}. */
export interface RedisOrderLogOptions {
  /** The connection (the caller owns it). Required. */
  readonly redis: Redis;
  /** Prefix of the log's key, e.g. "recommendations:v1:". Required. */
  readonly keyPrefix: string;
  /** Fields read per HSCAN step when listing. Default 1,000. */
  readonly scanCount?: number;
}

/** Names the store in errors: "recommendation order log is unavailable". */
const STORE = "recommendation order log";

/** An order log in one Redis hash, event id -> order (HSETNX: the first record of an id wins). */
export function createRedisOrderLog(options: RedisOrderLogOptions): OrderLog {
  if (!options?.redis) throw new TypeError("options.redis is required");
  if (!options.keyPrefix) throw new TypeError("options.keyPrefix is required");
  const { redis } = options;
  const key = `${options.keyPrefix}orders`;
  const scanCount = options.scanCount ?? 1_000;
  return {
    async record(eventId, order) {
      return (await redisCall(STORE, () => redis.hsetnx(key, eventId, JSON.stringify([order.userId, order.productIds, order.atMs])))) === 1;
    },
    async snapshot(signal) {
      // Packed as it is read, so a training task gets shared columns rather than an array of orders.
      const columns = createOrderColumns();
      // HSCAN may return a field twice (the hash rehashed during the scan): each event id counts once.
      const seen = new Set<string>();
      let cursor = "0";
      do {
        signal?.throwIfAborted();
        const [next, flat] = await redisCall(STORE, () => redis.hscan(key, cursor, "COUNT", scanCount));
        for (let i = 1; i < flat.length; i += 2) {
          if (seen.has(flat[i - 1]!)) continue;
          seen.add(flat[i - 1]!);
          const [userId, productIds, atMs] = JSON.parse(flat[i]!) as [string, string[], number];
          columns.append({ userId, productIds, atMs });
        }
        cursor = next;
      } while (cursor !== "0");
      return columns.snapshot();
    },
    async count() {
      return await redisCall(STORE, () => redis.hlen(key));
    },
  };
}
