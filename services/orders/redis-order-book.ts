import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { type Order, OrderSchema, type OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { defineScript, requireKeyPrefix } from "../shared/index.ts";
import { redisCall, redisToConnectError, slotPrefix } from "../../mesh/redis/index.ts";
import { bookErrors, DEFAULT_IDEMPOTENCY_TTL_MS, idempotencySetting, type OrderBook } from "./order-book.ts";

/** Options of {@link createRedisOrderBook}. */
export interface RedisOrderBookOptions {
  /** The connection (the caller owns it; see mesh/redis `redisClientOptions`). Required. */
  readonly redis: Redis;
  /** Prefix of every key, e.g. `"weft:orders:"`. Every replica of one shop uses the same. Required. */
  readonly keyPrefix: string;
  /**
   * How long an idempotency key is remembered after its order was placed (the key's Redis TTL), in ms.
   * Default 86,400,000 (a day).
   */
  readonly idempotencyTtlMs?: number;
}

const STORE = "order store";

// How often add looks again when the order a key named was removed between the script and the read.
const ADD_ATTEMPTS = 3;

// KEYS: order hash, the user's list, the idempotency key's. ARGV: id, order (binary), status, user id,
// idempotency key ('' for none), its TTL in ms. Answers 'ok', 'exists', or the id the key already placed.
const ADD = `
if ARGV[5] ~= '' then
  local earlier = redis.call('GET', KEYS[3])
  if earlier then return {earlier} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'status', ARGV[3], 'user', ARGV[4], 'key', ARGV[5])
redis.call('LPUSH', KEYS[2], ARGV[1])
if ARGV[5] ~= '' then redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[6]) end
return 'ok'
`;

// KEYS: order hash, the user's list, its idempotency key's. ARGV: id. The key goes only if it names this order.
const REMOVE = `
redis.call('DEL', KEYS[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
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
 * a list of order ids, newest first; `key:<user id length>:<user id>:<idempotency key>` names the order
 * that key placed, for `idempotencyTtlMs`. Adding (with its key check), removing and status changes are
 * Lua scripts, so replicas never see half an order and racing retries make one. Redis failures surface
 * as Connect codes through mesh/redis.
 */
export function createRedisOrderBook(options: RedisOrderBookOptions): OrderBook {
  if (!options?.redis) throw new TypeError("options.redis must be an ioredis connection");
  // One Cluster slot: a script writes an order and its user's list together.
  const prefix = slotPrefix(requireKeyPrefix(options.keyPrefix));
  const ttlMs = idempotencySetting("idempotencyTtlMs", options.idempotencyTtlMs, DEFAULT_IDEMPOTENCY_TTL_MS);
  const { redis } = options;
  const orderKey = (id: string) => `${prefix}order:${id}`;
  const userKey = (userId: string) => `${prefix}user:${userId}:orders`;
  // The user id's length keeps every (user, key) pair's name apart, whatever either contains.
  const idempotencyKey = (userId: string, key: string) => `${prefix}key:${userId.length}:${userId}:${key}`;
  const addScript = defineScript(redis, "weftOrdersAdd", ADD, 3);
  const removeScript = defineScript(redis, "weftOrdersRemove", REMOVE, 3);
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
    async add(order, key = "") {
      const data = Buffer.from(toBinary(OrderSchema, order));
      const keys = [orderKey(order.id), userKey(order.userId), idempotencyKey(order.userId, key)];
      const args = [order.id, data, String(order.status), order.userId, key, String(ttlMs)];
      for (let attempt = 1; ; attempt++) {
        const outcome = await redisCall(STORE, () => addScript(keys, args));
        if (outcome === "ok") return { order, created: true };
        if (outcome === "exists") throw bookErrors.exists(order.id);
        const earlier = await get(String((outcome as unknown[])[0]));
        if (earlier !== undefined) return { order: earlier, created: false };
        // That order was removed (its key with it) since the script ran: the key is free again.
        if (attempt === ADD_ATTEMPTS) throw new ConnectError("order store changed under a retried order; try again", Code.Aborted);
      }
    },
    async findByKey(userId, key) {
      const id = await redisCall(STORE, () => redis.get(idempotencyKey(userId, key)));
      return id === null ? undefined : await get(id);
    },
    async remove(id) {
      const [userId, key] = await redisCall(STORE, () => redis.hmget(orderKey(id), "user", "key"));
      if (userId === null) return;
      await redisCall(STORE, () => removeScript([orderKey(id), userKey(userId), idempotencyKey(userId, key ?? "")], [id]));
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
