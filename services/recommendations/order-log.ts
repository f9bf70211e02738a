import { createOrderColumns, type PackedOrders } from "./packed-orders.ts";
import type { OrderRecord } from "./train-task.ts";

/**
 * The orders the recommender learns from, keyed by event id: recording an id twice keeps the first,
 * so a redelivered OrderPlaced (a consumer killed before its ack) is never counted twice.
 */
export interface OrderLog {
  /** Records `order` under `eventId` unless that id is recorded; resolves true when it was new. */
  record(eventId: string, order: OrderRecord, signal?: AbortSignal): Promise<boolean>;
  /** Every recorded order, packed for a training task (`unpackOrders` gives records back). */
  snapshot(signal?: AbortSignal): Promise<PackedOrders>;
  /** How many orders are recorded. */
  count(signal?: AbortSignal): Promise<number>;
}

/**
 * An order log in this process's memory (the embedded default; lost on restart), kept packed in shared
 * memory: a snapshot is a few views, and a training task on a worker reads it without a copy.
 */
export function createMemoryOrderLog(): OrderLog {
  const eventIds = new Set<string>();
  const columns = createOrderColumns();
  return {
    async record(eventId, order) {
      if (eventIds.has(eventId)) return false;
      eventIds.add(eventId);
      columns.append(order);
      return true;
    },
    async snapshot() {
      return columns.snapshot();
    },
    async count() {
      return columns.count;
    },
  };
}
