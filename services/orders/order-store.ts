import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { OrderCancelledSchema, OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import type { Order, OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import type { EventBus } from "../../mesh/events/index.ts";
import type { OrderBook } from "./order-book.ts";

/** An event that a store change publishes; `id` is its dedupe key (`Nats-Msg-Id`). */
export interface OrderEvent<Desc extends DescMessage = DescMessage> {
  readonly id: string;
  readonly schema: Desc;
  readonly message: MessageShape<Desc>;
}

/** The event types orders writes to its outbox (what the relay may publish). */
export const ORDER_EVENT_SCHEMAS: readonly DescMessage[] = [OrderPlacedSchema, OrderCancelledSchema];

/** Builds an {@link OrderEvent} with the message's type checked against its schema. */
export function orderEvent<Desc extends DescMessage>(id: string, schema: Desc, message: MessageShape<Desc>): OrderEvent {
  return { id, schema, message };
}

/**
 * What the orders service needs of its storage: each change and its events go together. The SQL store
 * writes both in one transaction (events go out through the outbox relay); the book-backed store
 * (memory, Redis) publishes after the change and undoes it when the publish fails.
 */
export interface OrderStore {
  get(id: string): Promise<Order | undefined>;
  /** A user's order placed with `idempotencyKey`, if any. */
  findByKey(userId: string, idempotencyKey: string): Promise<Order | undefined>;
  /**
   * Stores a new order with its events. With an `idempotencyKey` that the user already used, stores
   * nothing and returns the existing order with `created: false`.
   */
  place(order: Order, events: readonly OrderEvent[], idempotencyKey: string, signal?: AbortSignal): Promise<{ order: Order; created: boolean }>;
  /** Compare-and-set of the status with its events; undefined (nothing changed) when unknown or not in `from`. */
  transition(id: string, from: OrderStatus, to: OrderStatus, events: (order: Order) => readonly OrderEvent[], signal?: AbortSignal): Promise<Order | undefined>;
  /** A user's orders, newest first, at most `limit`. */
  listByUser(userId: string, limit: number): Promise<Order[]>;
}

/**
 * An OrderStore over an {@link OrderBook} (memory or Redis) that publishes straight to `events`: a change
 * whose event could not be stored is undone (the order and its idempotency key). The book keeps the keys,
 * so a retried or racing place with a key stores and publishes once, as with the SQL store.
 */
export function bookOrderStore(book: OrderBook, events: EventBus, onCompensationError: (error: unknown, orderId: string) => void): OrderStore {
  const publishAll = async (list: readonly OrderEvent[], signal?: AbortSignal) => {
    for (const event of list) await events.publish(event.schema, event.message, { id: event.id, signal });
  };
  return {
    get: (id) => book.get(id),
    findByKey: (userId, key) => book.findByKey(userId, key),
    async place(order, list, key, signal) {
      const stored = await book.add(order, key);
      if (!stored.created) return stored;
      try {
        await publishAll(list, signal);
      } catch (err) {
        await book.remove(order.id).catch((removeError) => onCompensationError(removeError, order.id));
        throw err;
      }
      return stored;
    },
    async transition(id, from, to, eventsOf, signal) {
      const changed = await book.transition(id, from, to);
      if (!changed) return undefined;
      try {
        await publishAll(eventsOf(changed), signal);
      } catch (err) {
        await book.transition(id, to, from).catch((undoError) => onCompensationError(undoError, id));
        throw err;
      }
      return changed;
    },
    listByUser: (userId, limit) => book.listByUser(userId, limit),
  };
}
