import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Inventory's pure domain: stock per product and the reservations holding it. Every operation is
 * synchronous, so within one process a reservation checks and takes stock in one step and concurrent
 * orders can never drive `available` below zero. No I/O.
 */
export interface StockLedger {
  /** Stock of one product, or undefined when the product is unknown. */
  level(productId: string): StockSnapshot | undefined;
  /**
   * Takes stock for every line or for none. Lines naming the same product are added up. Repeating a
   * reservation id returns the first outcome (ALREADY_EXISTS if the lines differ). NOT_FOUND for an unknown
   * product, FAILED_PRECONDITION when one is short.
   */
  reserve(reservationId: string, lines: readonly ReservationLine[]): ReserveOutcome;
  /** Gives a reservation's stock back; false when it is unknown or already released. */
  release(reservationId: string): ReleaseOutcome;
  /** Adds stock to a known product; NOT_FOUND otherwise. */
  restock(productId: string, quantity: bigint): StockSnapshot;
}

/** One product's stock at a moment. */
export interface StockSnapshot {
  readonly productId: string;
  /** Units that can still be reserved. */
  readonly available: bigint;
  /** Units held by open reservations. */
  readonly reserved: bigint;
}

/** A product and how many units to reserve. */
export interface ReservationLine {
  readonly productId: string;
  readonly quantity: number;
}

/** What `reserve` did. */
export interface ReserveOutcome {
  /** Stock after the reservation, one per distinct product, in first-seen order. */
  readonly levels: readonly StockSnapshot[];
  /** Per product, how much was taken (for StockChanged events). */
  readonly changes: readonly StockChange[];
  /** False when this id was reserved before and the first outcome was returned. */
  readonly fresh: boolean;
}

/** What `release` did. */
export interface ReleaseOutcome {
  readonly released: boolean;
  readonly changes: readonly StockChange[];
}

/** A change to one product's available stock. */
export interface StockChange {
  readonly productId: string;
  /** Available after the change. */
  readonly available: bigint;
  /** Signed change of available (negative for a reservation). */
  readonly delta: bigint;
}

interface Stock {
  available: bigint;
  reserved: bigint;
}

interface Reservation {
  readonly key: string;
  readonly quantities: ReadonlyMap<string, bigint>;
  readonly outcome: ReserveOutcome;
  released: boolean;
}

/** Most reservations remembered for idempotency (oldest released ones are forgotten first). */
export const DEFAULT_MAX_RESERVATIONS = 1_000_000;

/** Creates a ledger with the given starting stock (product id -> available units). */
export function createStockLedger(initial: Iterable<readonly [string, number | bigint]>): StockLedger {
  const stock = new Map<string, Stock>();
  for (const [productId, units] of initial) {
    const available = BigInt(units);
    if (available < 0n) throw new RangeError(`initial stock of ${productId} must not be negative`);
    stock.set(productId, { available, reserved: 0n });
  }
  const reservations = new Map<string, Reservation>();

  const snapshot = (productId: string, s: Stock): StockSnapshot => ({ productId, available: s.available, reserved: s.reserved });

  return {
    level(productId) {
      const s = stock.get(productId);
      return s && snapshot(productId, s);
    },

    reserve(reservationId, lines) {
      const quantities = new Map<string, bigint>();
      for (const { productId, quantity } of lines) quantities.set(productId, (quantities.get(productId) ?? 0n) + BigInt(quantity));
      const key = [...quantities].map(([id, q]) => `${id}*${q}`).join(",");

      const previous = reservations.get(reservationId);
      if (previous) {
        if (previous.key !== key) {
          throw new ConnectError(`reservation ${reservationId} already exists with different items`, Code.AlreadyExists);
        }
        return { ...previous.outcome, fresh: false };
      }

      // Check every line first, then take: all or nothing.
      for (const [productId, quantity] of quantities) {
        const s = stock.get(productId);
        if (!s) throw new ConnectError(`product ${productId} not found`, Code.NotFound);
        if (s.available < quantity) {
          throw new ConnectError(
            `product ${productId} is out of stock: ${quantity} requested, ${s.available} available`,
            Code.FailedPrecondition,
          );
        }
      }
      const levels: StockSnapshot[] = [];
      const changes: StockChange[] = [];
      for (const [productId, quantity] of quantities) {
        const s = stock.get(productId)!;
        s.available -= quantity;
        s.reserved += quantity;
        levels.push(snapshot(productId, s));
        changes.push({ productId, available: s.available, delta: -quantity });
      }
      const outcome: ReserveOutcome = { levels, changes, fresh: true };
      reservations.set(reservationId, { key, quantities, outcome, released: false });
      forgetOldest();
      return outcome;
    },

    release(reservationId) {
      const reservation = reservations.get(reservationId);
      if (!reservation || reservation.released) return { released: false, changes: [] };
      reservation.released = true;
      const changes: StockChange[] = [];
      for (const [productId, quantity] of reservation.quantities) {
        const s = stock.get(productId)!;
        s.available += quantity;
        s.reserved -= quantity;
        changes.push({ productId, available: s.available, delta: quantity });
      }
      return { released: true, changes };
    },

    restock(productId, quantity) {
      const s = stock.get(productId);
      if (!s) throw new ConnectError(`product ${productId} not found`, Code.NotFound);
      s.available += quantity;
      return snapshot(productId, s);
    },
  };

  /** Bounds memory: past the cap, the oldest released reservation is dropped (open ones are kept). */
  function forgetOldest(): void {
    if (reservations.size <= DEFAULT_MAX_RESERVATIONS) return;
    for (const [id, reservation] of reservations) {
      if (reservation.released) {
        reservations.delete(id);
        return;
      }
    }
  }
}
