import { randomUUID } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { OrderCancelledSchema, OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import type { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { type Order, OrderSchema, OrderService, OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import type { EventBus } from "../../mesh/events/index.ts";
import { COMPENSATION_TIMEOUT_MS, downstream, invalidArgument, relay, requireOptions } from "../shared/index.ts";
import { requireEndUser } from "../../mesh/security/index.ts";
import { createOrderBook, mergeLines, type OrderBook, priceLines } from "./order-book.ts";
import { bookOrderStore, orderEvent, type OrderStore } from "./order-store.ts";
import { withValidation } from "../../mesh/validation/index.ts";

/** Options of {@link createOrdersService}. */
export interface OrdersServiceOptions {
  /** Client of the catalog (prices). Required. */
  readonly catalog: Client<typeof CatalogService>;
  /** Client of inventory (reservations). Required. */
  readonly inventory: Client<typeof InventoryService>;
  /** Where OrderPlaced / OrderCancelled go. Required. */
  readonly events: EventBus;
  /**
   * Where orders and their events live: `createSqlOrderStore({ db })` (PostgreSQL or PGlite, events through
   * the outbox relay). Takes precedence over `book`.
   */
  readonly store?: OrderStore;
  /**
   * An order book without an outbox (events published after the change, which is undone when the publish
   * fails; idempotency keys kept for the book's retention). Default: a new in-memory book;
   * `createRedisOrderBook` for replicas.
   */
  readonly book?: OrderBook;
  /** Current time. Default `() => new Date()`. */
  readonly now?: () => Date;
  /**
   * Called when undoing a failed order fails too: giving its stock back (the reservation then expires
   * after inventory's TTL) or removing it from the book. Default: nothing.
   */
  readonly onCompensationError?: (error: unknown, orderId: string) => void;
}

/** Bounds from the contract. */
export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 1000;
export const LIST_DEFAULT_PAGE_SIZE = 20;
export const LIST_MAX_PAGE_SIZE = 100;

/** Builds the OrderService handlers: place (price, reserve, publish), get, list, cancel. */
export function createOrdersService(options: OrdersServiceOptions): ServiceImpl<typeof OrderService> {
  requireOptions(options, "catalog", "inventory", "events");
  const { catalog, inventory, events } = options;
  const now = options.now ?? (() => new Date());
  const onCompensationError = options.onCompensationError ?? (() => {});
  const store = options.store ?? bookOrderStore(options.book ?? createOrderBook(), events, onCompensationError);

  /** Gives a reservation back, outside the caller's deadline (the caller may be the reason we are here). */
  async function releaseQuietly(orderId: string): Promise<void> {
    try {
      await inventory.release({ reservationId: orderId }, { timeoutMs: COMPENSATION_TIMEOUT_MS });
    } catch (err) {
      onCompensationError(err, orderId);
    }
  }

  async function findOrder(id: string): Promise<Order> {
    const order = await store.get(id);
    if (!order) throw new ConnectError(`order ${id} not found`, Code.NotFound);
    return order;
  }

  // Field bounds (ids, item counts, quantities, page size) are the contract's rules, checked before a handler runs.
  return withValidation(OrderService, {
    async placeOrder(req, ctx) {
      // The user is the one the gateway signed on; `user_id` in the request is ignored.
      const { userId } = requireEndUser(ctx);
      const lines = mergeLines(req.items.map(({ productId, quantity }) => ({ productId, quantity })));
      for (const line of lines) {
        if (line.quantity > MAX_QUANTITY) throw invalidArgument("items", `must not add up to more than ${MAX_QUANTITY} units of ${line.productId}`);
      }

      const key = req.idempotencyKey;
      // A retry of an order that was stored (its reply lost) answers with that order and reserves nothing.
      const earlier = key ? await store.findByKey(userId, key) : undefined;
      if (earlier) return { order: sameOrder(earlier, lines) };

      const { products } = await relay(catalog.batchGetProducts({ ids: lines.map((l) => l.productId) }, downstream(ctx)));
      const { items, totalCents } = priceLines(lines, products);

      const orderId = randomUUID();
      try {
        await relay(inventory.reserve({ reservationId: orderId, items: lines }, downstream(ctx)));
      } catch (err) {
        // A reserve that timed out may still have taken stock; releasing an unknown id is a no-op.
        if (!(err instanceof ConnectError && isDefinitelyNotReserved(err.code))) await releaseQuietly(orderId);
        // A concurrent attempt with the same key may hold the stock we asked for: its order is the answer.
        const placed = key ? await store.findByKey(userId, key) : undefined;
        if (placed) return { order: sameOrder(placed, lines) };
        throw err;
      }

      const createdAt = timestampFromDate(now());
      const order = create(OrderSchema, { id: orderId, userId, items, totalCents, status: OrderStatus.PLACED, createdAt });
      const placed = orderEvent(
        `order-placed:${orderId}`,
        OrderPlacedSchema,
        create(OrderPlacedSchema, { orderId, userId, items: items.map(({ productName: _, ...line }) => line), totalCents, placedAt: createdAt }),
      );
      let stored: { order: Order; created: boolean };
      try {
        stored = await store.place(order, [placed], key, ctx.signal);
      } catch (err) {
        await releaseQuietly(orderId);
        throw err;
      }
      // A concurrent retry with the same key stored its order first: ours was never stored.
      if (!stored.created) await releaseQuietly(orderId);
      return { order: clone(OrderSchema, stored.created ? stored.order : sameOrder(stored.order, lines)) };
    },

    async getOrder(req) {
      return { order: await findOrder(req.id) };
    },

    async listOrders(req, ctx) {
      const { userId } = requireEndUser(ctx);
      const pageSize = req.pageSize || LIST_DEFAULT_PAGE_SIZE;
      return { orders: await store.listByUser(userId, pageSize) };
    },

    async cancelOrder(req, ctx) {
      const order = await findOrder(req.id);
      if (order.status === OrderStatus.CANCELLED) {
        // A retry after a release that failed: releasing again gives back what is still held, else nothing.
        await relay(inventory.release({ reservationId: order.id }, downstream(ctx)));
        return { order };
      }
      if (order.status !== OrderStatus.PLACED) return { order };
      const reason = req.reason.trim();
      // One compare-and-set with its OrderCancelled event, so a concurrent cancel (on any replica) is a no-op.
      const claimed = await store.transition(order.id, OrderStatus.PLACED, OrderStatus.CANCELLED, (o) => [
        orderEvent(
          `order-cancelled:${o.id}`,
          OrderCancelledSchema,
          create(OrderCancelledSchema, { orderId: o.id, userId: o.userId, reason, cancelledAt: timestampFromDate(now()) }),
        ),
      ], ctx.signal);
      if (!claimed) return { order: (await store.get(order.id)) ?? order };
      await relay(inventory.release({ reservationId: order.id }, downstream(ctx)));
      return { order: claimed };
    },
  });
}

/**
 * The order an idempotency key already placed, when it is for the same lines; a key reused for other
 * items is the client's bug (one key per checkout attempt), refused rather than answered with an order
 * the client did not ask for.
 */
function sameOrder(order: Order, lines: ReadonlyArray<{ productId: string; quantity: number }>): Order {
  const ordered = new Map(order.items.map((item) => [item.productId, item.quantity]));
  const same = ordered.size === lines.length && lines.every((line) => ordered.get(line.productId) === line.quantity);
  if (!same) throw new ConnectError("idempotency_key was already used for an order of other items: send a new key per checkout", Code.AlreadyExists);
  return order;
}

/** Codes with which inventory answers before touching stock. */
function isDefinitelyNotReserved(code: Code): boolean {
  return code === Code.InvalidArgument || code === Code.NotFound || code === Code.FailedPrecondition || code === Code.AlreadyExists;
}
