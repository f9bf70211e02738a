import { create, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import { type Order, OrderItemSchema, OrderSchema, type OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import type { OrderEvent, OrderStore } from "./order-store.ts";
import type { SqlClient, SqlQueryable } from "./sql-client.ts";
import { retryAborted } from "./sql-errors.ts";

/** Options of {@link createSqlOrderStore}. */
export interface SqlOrderStoreOptions {
  /** The database, migrated (`migrateOrders`). Required. */
  readonly db: SqlClient;
  /** Called after a transaction that wrote outbox rows committed (the relay's `wake`). Default: nothing. */
  readonly onOutboxWrite?: () => void;
}

/** An order row as the queries select it. */
interface OrderRow {
  id: string;
  user_id: string;
  status: number;
  total_cents: string;
  items: Array<{ productId: string; productName: string; quantity: number; unitPriceCents: string }>;
  created_at: Date | string;
}

const ORDER_COLUMNS = "id, user_id, status, total_cents::text AS total_cents, items, created_at";

/**
 * Orders in PostgreSQL (or PGlite): each change and its events in one transaction, the events as
 * outbox rows that the relay publishes (outbox-relay.ts). A retried place with the same user and
 * idempotency key finds the first order through the table's unique constraint.
 */
export function createSqlOrderStore(options: SqlOrderStoreOptions): OrderStore {
  if (!options?.db) throw new TypeError("options.db must be a SqlClient");
  const { db } = options;
  const wake = options.onOutboxWrite ?? (() => {});

  const get = async (id: string, on: SqlQueryable = db) => {
    const [row] = await on.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id]);
    return row && fromRow(row);
  };
  const findByKey = async (userId: string, key: string, on: SqlQueryable = db) => {
    const [row] = await on.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND idempotency_key = $2`, [userId, key]);
    return row && fromRow(row);
  };

  return {
    get: (id) => get(id),
    findByKey: (userId, key) => findByKey(userId, key),
    async place(order, events, idempotencyKey, signal) {
      const traceparent = activeTraceparent();
      const outcome = await retryAborted(
        () =>
          db.transaction(async (tx) => {
            const inserted = await tx.query<{ id: string }>(
              `INSERT INTO orders (id, user_id, status, total_cents, items, created_at, idempotency_key)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id`,
              [order.id, order.userId, order.status, order.totalCents.toString(), JSON.stringify(itemsOf(order)), createdAt(order), idempotencyKey || null],
            );
            if (inserted.length === 0) {
              const existing = await findByKey(order.userId, idempotencyKey, tx);
              if (existing) return { order: existing, created: false };
            }
            await writeOutbox(tx, events, traceparent);
            return { order, created: true };
          }),
        signal,
      );
      if (outcome.created) wake();
      return outcome;
    },
    async transition(id, from, to, eventsOf, signal) {
      const traceparent = activeTraceparent();
      const changed = await retryAborted(
        () =>
          db.transaction(async (tx) => {
            const [row] = await tx.query<OrderRow>(
              `UPDATE orders SET status = $3 WHERE id = $1 AND status = $2 RETURNING ${ORDER_COLUMNS}`,
              [id, from, to],
            );
            if (!row) return undefined;
            const order = fromRow(row);
            await writeOutbox(tx, eventsOf(order), traceparent);
            return order;
          }),
        signal,
      );
      if (changed) wake();
      return changed;
    },
    async listByUser(userId, limit) {
      const rows = await db.query<OrderRow>(
        `SELECT ${ORDER_COLUMNS} FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
        [userId, limit],
      );
      return rows.map(fromRow);
    },
  };
}

async function writeOutbox(tx: SqlQueryable, events: readonly OrderEvent[], traceparent: string | null): Promise<void> {
  for (const event of events) {
    await tx.query("INSERT INTO outbox (id, type, payload, traceparent) VALUES ($1, $2, $3, $4)", [
      event.id,
      event.schema.typeName,
      Buffer.from(toBinary(event.schema, event.message)),
      traceparent,
    ]);
  }
}

/** The caller's span as a W3C traceparent, so the relay's publish continues the order's trace. */
function activeTraceparent(): string | null {
  const span = trace.getSpanContext(context.active());
  if (!span || !isSpanContextValid(span)) return null;
  return `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, "0")}`;
}

function itemsOf(order: Order) {
  return order.items.map((item) => ({ productId: item.productId, productName: item.productName, quantity: item.quantity, unitPriceCents: item.unitPriceCents.toString() }));
}

function createdAt(order: Order): Date {
  return order.createdAt ? timestampDate(order.createdAt) : new Date();
}

function fromRow(row: OrderRow): Order {
  return create(OrderSchema, {
    id: row.id,
    userId: row.user_id,
    status: row.status as OrderStatus,
    totalCents: BigInt(row.total_cents),
    items: row.items.map((item) => create(OrderItemSchema, { ...item, unitPriceCents: BigInt(item.unitPriceCents) })),
    createdAt: timestampFromDate(new Date(row.created_at)),
  });
}
