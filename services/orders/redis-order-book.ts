import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Redis } from "ioredis";
import { type Order, OrderSchema, type OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { defineScript, requireKeyPrefix } from "../shared/index.ts";
import { redisCall, redisToConnectError, slotPrefix } from "../../mesh/redis/index.ts";
import { bookErrors, type OrderBook } from "./order-book.ts";

/** Options of {@link createRedisOrderBook}. */
export interface RedisOrderBookOptions {
  /** The connection (the caller owns it; see mesh/redis `redisClientOptions`). Required. */
  readonly redis: Redis;
  /** Prefix of every key, e.g. `"weft:orders:"`. Every replica of one shop uses the same. Required. */
  readonly keyPrefix: string;
}

const STORE = "order store";

// KEYS: order hash, the user's list. ARGV: id, order (binary), status, user id.
const ADD = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'status', ARGV[3], 'user', ARGV[4])
redis.call('LPUSH', KEYS[2], ARGV[1])
return 'ok'
`;

// KEYS: order hash, the user's list. ARGV: id.
const REMOVE = `
redis.call('DEL', KEYS[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
return 1
`;

// KEYS: order hash. ARGV: from, to. Compare and set of the status.
const TRANSITION = `
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
return 1
`;

/**
 * An order book in Redis shared by orders replicas: `order:<id>` is a hash (the order as binary
 * Protobuf, its status kept apart so cancels can compare-and-set it, and its user), `user:<id>:orders`
 * a list of order ids, newest first. Adding, removing and status changes are Lua scripts, so replicas
 * never see half an order. Redis failures surface as Connect codes through mesh/redis.
 */
export function createRedisOrderBook(options: RedisOrderBookOptions): OrderBook {
  if (!options?.redis) throw new TypeError("options.redis must be an ioredis connection");
  // One Cluster slot: a script writes an order and its user's list together.
  const prefix = slotPrefix(requireKeyPrefix(options.keyPrefix));
  const { redis } = options;
  const orderKey = (id: string) => `${prefix}order:${id}`;
  const userKey = (userId: string) => `${prefix}user:${userId}:orders`;
  const addScript = defineScript(redis, "weftOrdersAdd", ADD, 2);
  const removeScript = defineScript(redis, "weftOrdersRemove", REMOVE, 2);
  const transitionScript = defineScript(redis, "weftOrdersTransition", TRANSITION, 1);

  function decode(data: Buffer | null, status: Buffer | null): Order | undefined {
    if (data === null || status === null) return undefined;
    try {
      const order = fromBinary(OrderSchema, data);
      order.status = Number(status.toString()) as OrderStatus;
      return order;
    } catch (err) {
      throw redisToConnectError(err, STORE);
    }
  }

  const get = async (id: string) => {
    const [data, status] = await redisCall(STORE, () => redis.hmgetBuffer(orderKey(id), "data", "status"));
    return decode(data, status);
  };

  return {
    get,
    async add(order) {
      const data = Buffer.from(toBinary(OrderSchema, order));
      const outcome = await redisCall(STORE, () =>
        addScript([orderKey(order.id), userKey(order.userId)], [order.id, data, String(order.status), order.userId]),
      );
      if (outcome === "exists") throw bookErrors.exists(order.id);
    },
    async remove(id) {
      const userId = await redisCall(STORE, () => redis.hget(orderKey(id), "user"));
      if (userId === null) return;
      await redisCall(STORE, () => removeScript([orderKey(id), userKey(userId)], [id]));
    },
    async transition(id, from, to) {
      const changed = await redisCall(STORE, () => transitionScript([orderKey(id)], [String(from), String(to)]));
      if (changed !== 1) return undefined;
      const order = await get(id);
      if (order) order.status = to;
      return order;
    },
    async listByUser(userId, limit) {
      const ids = await redisCall(STORE, () => redis.lrange(userKey(userId), 0, limit - 1));
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hmgetBuffer(orderKey(id), "data", "status");
      const replies = (await redisCall(STORE, () => pipeline.exec())) ?? [];
      const orders: Order[] = [];
      for (const [err, reply] of replies) {
        if (err) throw redisToConnectError(err, STORE);
        const order = decode(...(reply as [Buffer | null, Buffer | null]));
        if (order) orders.push(order);
      }
      return orders;
    },
  };
}
