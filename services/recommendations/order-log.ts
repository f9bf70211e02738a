import type { OrderRecord } from "./train-task.ts";

/**
 * The orders the recommender learns from, keyed by event id: recording an id twice keeps the first,
 * so a redelivered OrderPlaced (a consumer killed before its ack) is never counted twice.
 */
export interface OrderLog {
  /** Records `order` under `eventId` unless that id is recorded; resolves true when it was new. */
  record(eventId: string, order: OrderRecord, signal?: AbortSignal): Promise<boolean>;
  /** Every recorded order (any order). */
  list(signal?: AbortSignal): Promise<OrderRecord[]>;
  /** How many orders are recorded. */
  count(signal?: AbortSignal): Promise<number>;
}

/** An order log in this process's memory (the embedded default; lost on restart). */
export function createMemoryOrderLog(): OrderLog {
  const orders = new Map<string, OrderRecord>();
  return {
    async record(eventId, order) {
      if (orders.has(eventId)) return false;
      orders.set(eventId, order);
      return true;
    },
    async list() {
      return [...orders.values()];
    },
    async count() {
      return orders.size;
    },
  };
}
