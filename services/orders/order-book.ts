import { Code, ConnectError } from "@connectrpc/connect";
import type { Product } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import type { Order } from "../../gen/shop/orders/v1/orders_pb.ts";

/**
 * Orders' pure domain: pricing lines against catalogue products, and the in-memory book of orders
 * (by id, and per user newest first). No I/O.
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

/** Where orders live. */
export interface OrderBook {
  get(id: string): Order | undefined;
  add(order: Order): void;
  /** Removes an order that could not be completed (e.g. its event was not stored). */
  remove(id: string): void;
  /** A user's orders, newest first, at most `limit`. */
  listByUser(userId: string, limit: number): Order[];
}

/** Creates an empty book. */
export function createOrderBook(): OrderBook {
  const byId = new Map<string, Order>();
  const byUser = new Map<string, Order[]>(); // oldest first; read backwards
  return {
    get: (id) => byId.get(id),
    add(order) {
      if (byId.has(order.id)) throw new ConnectError(`order ${order.id} already exists`, Code.AlreadyExists);
      byId.set(order.id, order);
      const list = byUser.get(order.userId) ?? [];
      list.push(order);
      byUser.set(order.userId, list);
    },
    remove(id) {
      const order = byId.get(id);
      if (!order) return;
      byId.delete(id);
      const list = byUser.get(order.userId) ?? [];
      const at = list.indexOf(order);
      if (at >= 0) list.splice(at, 1);
    },
    listByUser(userId, limit) {
      const list = byUser.get(userId) ?? [];
      return list.slice(Math.max(0, list.length - limit)).reverse();
    },
  };
}
