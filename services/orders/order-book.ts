import { clone } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Product } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { type Order, OrderSchema, type OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";

/**
 * Orders' domain: pricing lines against catalogue products (pure), and the OrderBook store with its
 * in-memory implementation (the Redis one is in redis-order-book.ts).
 */

/** A product and a quantity, as the caller asked. */
export interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
}

/** A priced line. */
export interface PricedLine {
  readonly productId: string;
  readonly productName: string;
  readonly quantity: number;
  readonly unitPriceCents: bigint;
}

/** Adds up lines naming the same product, keeping the first-seen order. */
export function mergeLines(lines: readonly OrderLine[]): OrderLine[] {
  const merged = new Map<string, number>();
  for (const { productId, quantity } of lines) merged.set(productId, (merged.get(productId) ?? 0) + quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

/** Prices each line from `products` (any order); NOT_FOUND if a product is missing. */
export function priceLines(lines: readonly OrderLine[], products: readonly Product[]): { items: PricedLine[]; totalCents: bigint } {
  const byId = new Map(products.map((product) => [product.id, product]));
  let totalCents = 0n;
  const items = lines.map(({ productId, quantity }) => {
    const product = byId.get(productId);
    if (!product) throw new ConnectError(`product ${productId} not found`, Code.NotFound);
    totalCents += product.priceCents * BigInt(quantity);
    return { productId, productName: product.name, quantity, unitPriceCents: product.priceCents };
  });
  return { items, totalCents };
}

/**
 * Orders' store: orders by id, and per user newest first. Two implementations keep the same contract
 * (one behaviour suite runs against both): `createOrderBook` (in memory, one process) and
 * `createRedisOrderBook` (shared by orders replicas). Every method returns copies: changing a returned
 * order changes nothing stored.
 */
export interface OrderBook {
  get(id: string): Promise<Order | undefined>;
  /**
   * Stores a new order; ALREADY_EXISTS if the id is taken. With an `idempotencyKey` (scoped to the
   * order's user, as SQL's `UNIQUE (user_id, idempotency_key)`) that placed an order still in the book
   * and within the key's retention, stores nothing and returns that order with `created: false`; the
   * check and the write are one step, so of racing adds with one key exactly one creates.
   */
  add(order: Order, idempotencyKey?: string): Promise<{ order: Order; created: boolean }>;
  /** The order `userId` placed with `idempotencyKey`, while the key is retained. */
  findByKey(userId: string, idempotencyKey: string): Promise<Order | undefined>;
  /** Removes an order that could not be completed (e.g. its event was not stored), and forgets its key. */
  remove(id: string): Promise<void>;
  /**
   * Moves an order from status `from` to `to` in one step (compare and set); returns the updated order,
   * or undefined (with nothing changed) when it is unknown or not in `from`. Two concurrent cancels of one
   * order, on any replicas: exactly one gets the order.
   */
  transition(id: string, from: OrderStatus, to: OrderStatus): Promise<Order | undefined>;
  /** A user's orders, newest first, at most `limit`. */
  listByUser(userId: string, limit: number): Promise<Order[]>;
}

/** The errors both books raise. */
export const bookErrors = {
  exists: (id: string) => new ConnectError(`order ${id} already exists`, Code.AlreadyExists),
};

/** How long a book remembers an idempotency key by default: a day, far beyond any client's retries. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 86_400_000;
/** How many idempotency keys the in-memory book remembers by default. */
export const DEFAULT_IDEMPOTENCY_KEY_LIMIT = 100_000;

/** Checks an idempotency retention setting (a positive integer) and returns it, or its default. */
export function idempotencySetting(name: string, value: number | undefined, fallback: number): number {
  const setting = value ?? fallback;
  if (!Number.isInteger(setting) || setting < 1) throw new TypeError(`options.${name} must be a positive integer`);
  return setting;
}

/** Options of {@link createOrderBook}. */
export interface OrderBookOptions {
  /** How long an idempotency key is remembered after its order was placed, in ms. Default 86,400,000 (a day). */
  readonly idempotencyTtlMs?: number;
  /** Idempotency keys remembered at most; past it the oldest is forgotten first. Default 100,000. */
  readonly idempotencyKeyLimit?: number;
  /** The clock, ms since the epoch. Default `Date.now`. */
  readonly nowMs?: () => number;
}

/** Creates an empty in-memory book (one process only); its idempotency keys are bounded in count and age. */
export function createOrderBook(options: OrderBookOptions = {}): OrderBook {
  const ttlMs = idempotencySetting("idempotencyTtlMs", options.idempotencyTtlMs, DEFAULT_IDEMPOTENCY_TTL_MS);
  const keyLimit = idempotencySetting("idempotencyKeyLimit", options.idempotencyKeyLimit, DEFAULT_IDEMPOTENCY_KEY_LIMIT);
  const nowMs = options.nowMs ?? Date.now;
  const byId = new Map<string, Order>();
  const byUser = new Map<string, Order[]>(); // oldest first; read backwards
  // Oldest first (one TTL for all, so the front expires first): scoped key -> order id and expiry.
  const byKey = new Map<string, { orderId: string; expiresAtMs: number }>();
  const keyOfOrder = new Map<string, string>();
  const copy = (order: Order | undefined) => order && clone(OrderSchema, order);
  // JSON of the pair: no user id and key can spell another pair's name.
  const scoped = (userId: string, key: string) => JSON.stringify([userId, key]);

  const forgetKey = (name: string) => {
    const entry = byKey.get(name);
    if (entry === undefined) return;
    byKey.delete(name);
    keyOfOrder.delete(entry.orderId);
  };
  const lookUp = (userId: string, key: string) => {
    const name = scoped(userId, key);
    const entry = byKey.get(name);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowMs()) return void forgetKey(name);
    return byId.get(entry.orderId);
  };
  const remember = (userId: string, key: string, orderId: string) => {
    const now = nowMs();
    for (const [name, entry] of byKey) {
      if (byKey.size < keyLimit && entry.expiresAtMs > now) break;
      forgetKey(name);
    }
    const name = scoped(userId, key);
    byKey.set(name, { orderId, expiresAtMs: now + ttlMs });
    keyOfOrder.set(orderId, name);
  };

  return {
    get: async (id) => copy(byId.get(id)),
    async add(order, idempotencyKey = "") {
      if (idempotencyKey !== "") {
        const earlier = lookUp(order.userId, idempotencyKey);
        if (earlier !== undefined) return { order: clone(OrderSchema, earlier), created: false };
      }
      if (byId.has(order.id)) throw bookErrors.exists(order.id);
      const stored = clone(OrderSchema, order);
      byId.set(order.id, stored);
      const list = byUser.get(order.userId) ?? [];
      list.push(stored);
      byUser.set(order.userId, list);
      if (idempotencyKey !== "") remember(order.userId, idempotencyKey, order.id);
      return { order: clone(OrderSchema, stored), created: true };
    },
    findByKey: async (userId, key) => copy(lookUp(userId, key)),
    async remove(id) {
      const order = byId.get(id);
      if (!order) return;
      byId.delete(id);
      const name = keyOfOrder.get(id);
      if (name !== undefined) forgetKey(name);
      const list = byUser.get(order.userId) ?? [];
      const at = list.indexOf(order);
      if (at >= 0) list.splice(at, 1);
    },
    async transition(id, from, to) {
      const order = byId.get(id);
      if (!order || order.status !== from) return undefined;
      order.status = to;
      return copy(order);
    },
    async listByUser(userId, limit) {
      const list = byUser.get(userId) ?? [];
      return list.slice(Math.max(0, list.length - limit)).reverse().map((order) => clone(OrderSchema, order));
    },
  };
}
