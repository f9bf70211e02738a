import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import type { EventBus, Subscription } from "../../mesh/events/index.ts";
import { publishStockChanges } from "./stock-events.ts";
import { DEFAULT_EXPIRE_BATCH, type StockLedger } from "./stock-ledger.ts";

/** Options of {@link startReservationLifecycle}. */
export interface ReservationLifecycleOptions {
  /** The ledger whose reservations are confirmed and expired. Required. */
  readonly ledger: StockLedger;
  /** Where OrderPlaced comes from and StockChanged goes. Required. */
  readonly events: EventBus;
  /** Durable consumer name of the OrderPlaced subscription, shared by every inventory replica. Default "inventory-reservations". */
  readonly consumer?: string;
  /** How often overdue reservations are swept, in ms. Default 1,000. */
  readonly sweepIntervalMs?: number;
  /** Reservations expired per ledger call. Default 100. */
  readonly sweepBatch?: number;
  /** Told when an order's reservation had expired and its stock was gone (the order holds no stock). */
  readonly onLostReservation?: (orderId: string) => void;
  /** Told when a sweep fails (e.g. Redis or the bus is down); the next sweep tries again. Default: nothing. */
  readonly onSweepError?: (error: unknown) => void;
  /** Current time (for events' changed_at). Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** A running lifecycle. */
export interface ReservationLifecycle {
  /** Expires what is overdue now and publishes StockChanged for it; resolves to how many expired. */
  sweep(): Promise<number>;
  /** Stops sweeping and drains the subscription. */
  close(): Promise<void>;
}

/**
 * Closes the reservation leak. Orders reserves stock before it stores an order; if the order then fails
 * and its compensating release is lost (orders crashed, or the release overtook a slow reserve), the
 * stock would be held forever. So a reservation starts *pending* and:
 * - is *confirmed* when its order's OrderPlaced event arrives (orders publishes it only once the order
 *   is stored; its order_id is the reservation id). Confirmed stock is held until Release.
 * - otherwise *expires* after the ledger's reservation TTL: every replica sweeps every
 *   `sweepIntervalMs`, each overdue reservation is given back by exactly one of them (one Redis script),
 *   and StockChanged is published for it.
 * An OrderPlaced that arrives after its reservation expired takes the stock again if it is still there
 * (`reclaimed`); if not, `onLostReservation` reports the order. Choose the TTL far above the event lag.
 */
export async function startReservationLifecycle(options: ReservationLifecycleOptions): Promise<ReservationLifecycle> {
  if (!options?.ledger) throw new TypeError("options.ledger is required");
  if (!options.events) throw new TypeError("options.events is required");
  const { ledger, events } = options;
  const intervalMs = options.sweepIntervalMs ?? 1_000;
  if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new TypeError("options.sweepIntervalMs must be a positive integer (milliseconds)");
  const batch = options.sweepBatch ?? DEFAULT_EXPIRE_BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw new TypeError("options.sweepBatch must be a positive integer");
  const now = options.now ?? (() => new Date());
  const onLost = options.onLostReservation ?? (() => {});
  const onSweepError = options.onSweepError ?? (() => {});

  const subscription: Subscription = await events.subscribe(
    OrderPlacedSchema,
    options.consumer ?? "inventory-reservations",
    async (placed) => {
      // Throwing (e.g. Redis unavailable) makes the bus redeliver the event.
      const outcome = await ledger.confirm(placed.orderId);
      if (outcome.status === "reclaimed") await publishStockChanges(events, outcome.changes, `stock:reclaim:${placed.orderId}`, now());
      if (outcome.status === "lost") onLost(placed.orderId);
    },
  );

  let running: Promise<number> | undefined;
  let closed = false;

  async function sweepOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = await ledger.expireDue(batch);
      for (const { reservationId, changes } of expired) {
        await publishStockChanges(events, changes, `stock:expire:${reservationId}`, now());
      }
      total += expired.length;
      if (expired.length < batch || closed) return total;
    }
  }

  const sweep = (): Promise<number> => (running ??= sweepOnce().finally(() => (running = undefined)));
  const timer = setInterval(() => {
    sweep().catch(onSweepError);
  }, intervalMs);
  timer.unref();

  return {
    sweep,
    async close() {
      closed = true;
      clearInterval(timer);
      await running?.catch(() => {});
      await subscription.drain();
    },
  };
}
