import { Code, ConnectError } from "@connectrpc/connect";
import type { EventBus } from "../../mesh/events/index.ts";
import { OrdersDatabaseError } from "../shared/index.ts";
import { migrateOrders } from "./migrations.ts";
import { ORDER_EVENT_SCHEMAS, type OrderStore } from "./order-store.ts";
import { startOutboxRelay } from "./outbox-relay.ts";
import type { SqlClient } from "./sql-client.ts";
import { createSqlOrderStore } from "./sql-order-store.ts";

/** Options of {@link startSqlOrders}. */
export interface SqlOrdersOptions {
  /** The orders database (the caller owns and closes it), or its opening (with `background`). Required. */
  readonly db: SqlClient | Promise<SqlClient>;
  /**
   * Return at once and migrate in the background: the store's calls wait for it (PGlite's initdb takes
   * seconds, `npm start` listens meanwhile) and fail UNAVAILABLE if it failed. Default false.
   */
  readonly background?: boolean;
  /** Where the outbox relay publishes. Required. */
  readonly events: EventBus;
  /** How often the relay looks for rows no wake announced (another replica's, a crashed one's), in ms. Default 1,000. */
  readonly outboxPollIntervalMs?: number;
  /** Failures the relay recovers from by itself. Default: nothing. */
  readonly onRelayError?: (err: unknown) => void;
}

/** The SQL order store and its running relay. */
export interface SqlOrders {
  readonly store: OrderStore;
  /** Stops the relay (after in-flight calls: a drain's last phase). */
  stop(): Promise<void>;
}

/** Migrates the schema (under the advisory lock), starts the outbox relay and builds the store that wakes it. */
export async function startSqlOrders(options: SqlOrdersOptions): Promise<SqlOrders> {
  if (!options.background) return startNow(options);
  const starting = startNow(options);
  // Failures reach the store's callers (below) and the caller's log; nothing else awaits this promise.
  starting.catch((err) => options.onRelayError?.(err));
  const ready = () => starting.then((sql) => sql.store, (err) => {
    throw new ConnectError("order store unavailable", Code.Unavailable, undefined, undefined, err);
  });
  const store: OrderStore = {
    get: async (id) => (await ready()).get(id),
    findByKey: async (userId, key) => (await ready()).findByKey(userId, key),
    place: async (order, events, key, signal) => (await ready()).place(order, events, key, signal),
    transition: async (id, from, to, events, signal) => (await ready()).transition(id, from, to, events, signal),
    listByUser: async (userId, limit) => (await ready()).listByUser(userId, limit),
  };
  return { store, stop: () => starting.then((sql) => sql.stop(), () => {}) };
}

async function startNow(options: SqlOrdersOptions): Promise<SqlOrders> {
  const db = await options.db;
  try {
    await migrateOrders(db);
  } catch (err) {
    throw new OrdersDatabaseError(`migrating the orders schema failed (${(err as Error).message}), set DATABASE_URL to a database its user may create tables in`, { cause: err });
  }
  const relay = startOutboxRelay({
    db,
    events: options.events,
    schemas: ORDER_EVENT_SCHEMAS,
    pollIntervalMs: options.outboxPollIntervalMs,
    onError: options.onRelayError,
  });
  const store = createSqlOrderStore({ db, onOutboxWrite: relay.wake });
  return { store, stop: () => relay.stop() };
}
