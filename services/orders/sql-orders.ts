import type { EventBus } from "../../mesh/events/index.ts";
import { OrdersDatabaseError } from "../shared/index.ts";
import { migrateOrders } from "./migrations.ts";
import { ORDER_EVENT_SCHEMAS, type OrderStore } from "./order-store.ts";
import { startOutboxRelay } from "./outbox-relay.ts";
import type { SqlClient } from "./sql-client.ts";
import { createSqlOrderStore } from "./sql-order-store.ts";

/** Options of {@link startSqlOrders}. */
export interface SqlOrdersOptions {
  /** The orders database (the caller owns and closes it). Required. */
  readonly db: SqlClient;
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
  try {
    await migrateOrders(options.db);
  } catch (err) {
    throw new OrdersDatabaseError(`migrating the orders schema failed (${(err as Error).message}), set DATABASE_URL to a database its user may create tables in`, { cause: err });
  }
  const relay = startOutboxRelay({
    db: options.db,
    events: options.events,
    schemas: ORDER_EVENT_SCHEMAS,
    pollIntervalMs: options.outboxPollIntervalMs,
    onError: options.onRelayError,
  });
  const store = createSqlOrderStore({ db: options.db, onOutboxWrite: relay.wake });
  return { store, stop: () => relay.stop() };
}
