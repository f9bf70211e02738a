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
  /** Stores a new order; ALREADY_EXISTS if the id is taken. */
  add(order: Order): Promise<void>;
  /** Removes an order that could not be completed (e.g. its event was not stored). */
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

/** Creates an empty in-memory book (the embedded default of `npm start`; one process only). */
export function createOrderBook(): OrderBook {
  const byId = new Map<string, Order>();
  const byUser = new Map<string, Order[]>(); // oldest first; read backwards
  const copy = (order: Order | undefined) => order && clone(OrderSchema, order);
  return {
    get: async (id) => copy(byId.get(id)),
    async add(order) {
      if (byId.has(order.id)) throw bookErrors.exists(order.id);
      const stored = clone(OrderSchema, order);
      byId.set(order.id, stored);
      const list = byUser.get(order.userId) ?? [];
      list.push(stored);
      byUser.set(order.userId, list);
    },
    async remove(id) {
      const order = byId.get(id);
      if (!order) return;
      byId.delete(id);
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
