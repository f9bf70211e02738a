import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Inventory's store: stock per product and the reservations holding it. Two implementations keep the
 * same contract (one behaviour suite runs against both): `createStockLedger` (in memory, one process)
 * and `createRedisStockLedger` (shared by any number of replicas; every change is one Lua script).
 *
 * A reservation's life: `reserve` takes stock and leaves it *pending*; `confirm` (driven by the order's
 * OrderPlaced event) makes it *confirmed*, held until `release`. A pending reservation that is never
 * confirmed nor released (its order failed, the orders process died, or a compensating release arrived
 * before the reserve it was meant to undo) *expires* after the ledger's reservation TTL: `expireDue`
 * gives its stock back. Releasing an id that was never reserved leaves a tombstone, so a reserve
 * arriving late with that id is refused (ABORTED) instead of holding stock.
 */
export interface StockLedger {
  /** Stock of each product, in order; undefined for an unknown product. */
  levels(productIds: readonly string[]): Promise<Array<StockSnapshot | undefined>>;
  /**
   * Takes stock for every line or for none. Lines naming the same product are added up. Repeating a
   * reservation id returns the first outcome (ALREADY_EXISTS if the lines differ; ABORTED if the id was
   * released before it was ever reserved). NOT_FOUND for an unknown product, FAILED_PRECONDITION when one
   * is short.
   */
  reserve(reservationId: string, lines: readonly ReservationLine[]): Promise<ReserveOutcome>;
  /** Records that the reservation's StockChanged events were stored, so retries stop publishing them. */
  markPublished(reservationId: string): Promise<void>;
  /** Makes a pending reservation permanent (until released). See {@link ConfirmStatus}. */
  confirm(reservationId: string): Promise<ConfirmOutcome>;
  /** Gives a reservation's stock back; false when it is unknown or already released or expired. */
  release(reservationId: string): Promise<ReleaseOutcome>;
  /** Adds stock to a known product; NOT_FOUND otherwise. */
  restock(productId: string, quantity: bigint): Promise<StockSnapshot>;
  /** Expires up to `limit` pending reservations whose TTL has passed, oldest first, giving their stock back. */
  expireDue(limit?: number): Promise<ExpiredReservation[]>;
}

/** One product's stock at a moment. */
export interface StockSnapshot {
  readonly productId: string;
  /** Units that can still be reserved. */
  readonly available: bigint;
  /** Units held by open (pending or confirmed) reservations. */
  readonly reserved: bigint;
}

/** A product and how many units to reserve. */
export interface ReservationLine {
  readonly productId: string;
  readonly quantity: number;
}

/** What `reserve` did. */
export interface ReserveOutcome {
  /** Stock right after the reservation was first made, one per distinct product, in first-seen order. */
  readonly levels: readonly StockSnapshot[];
  /** Per product, how much was taken (for StockChanged events). */
  readonly changes: readonly StockChange[];
  /** False when this id was reserved before and the first outcome was returned. */
  readonly fresh: boolean;
  /** Whether `markPublished` was called for this reservation (if not, its changes still need publishing). */
  readonly published: boolean;
}

/** What `release` did. */
export interface ReleaseOutcome {
  readonly released: boolean;
  readonly changes: readonly StockChange[];
}

/**
 * What `confirm` found: `confirmed` (was pending), `already-confirmed`, `released` (cancelled first:
 * nothing to do), `unknown` (never reserved, or forgotten), `reclaimed` (it had expired, and its stock
 * was taken again: `changes` say how), `lost` (it had expired and the stock is gone: the order holds no
 * stock, which the caller must report).
 */
export type ConfirmStatus = "confirmed" | "already-confirmed" | "released" | "unknown" | "reclaimed" | "lost";

/** What `confirm` did. */
export interface ConfirmOutcome {
  readonly status: ConfirmStatus;
  readonly changes: readonly StockChange[];
}

/** A reservation that `expireDue` gave back. */
export interface ExpiredReservation {
  readonly reservationId: string;
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

/** Reservation TTL when none is configured: how long a reservation may stay unconfirmed (5 minutes). */
export const DEFAULT_RESERVATION_TTL_MS = 300_000;
/** How long released and expired reservations are remembered for idempotency (24 hours). */
export const DEFAULT_RELEASED_RETENTION_MS = 86_400_000;
/** Default `limit` of `expireDue`. */
export const DEFAULT_EXPIRE_BATCH = 100;
/** Most reservations the in-memory ledger remembers (the oldest released ones are forgotten first). */
export const DEFAULT_MAX_RESERVATIONS = 1_000_000;

/** Adds up lines naming the same product, keeping first-seen order. */
export function mergeQuantities(lines: readonly ReservationLine[]): Map<string, bigint> {
  const quantities = new Map<string, bigint>();
  for (const { productId, quantity } of lines) quantities.set(productId, (quantities.get(productId) ?? 0n) + BigInt(quantity));
  return quantities;
}

/** The canonical form of a reservation's lines: equal for equal requests, compared on a repeated id. */
export function reservationKey(quantities: ReadonlyMap<string, bigint>): string {
  return JSON.stringify([...quantities].map(([id, q]) => [id, Number(q)]));
}

/** The errors both ledgers raise, with the same codes and messages. */
export const ledgerErrors = {
  notFound: (productId: string) => new ConnectError(`product ${productId} not found`, Code.NotFound),
  short: (productId: string, requested: bigint | string, available: bigint | string) =>
    new ConnectError(`product ${productId} is out of stock: ${requested} requested, ${available} available`, Code.FailedPrecondition),
  conflict: (reservationId: string) =>
    new ConnectError(`reservation ${reservationId} already exists with different items`, Code.AlreadyExists),
  releasedBefore: (reservationId: string) =>
    new ConnectError(`reservation ${reservationId} was released before it was made`, Code.Aborted),
};

/** Options of {@link createStockLedger}. */
export interface MemoryStockLedgerOptions {
  /** How long a reservation stays pending before `expireDue` may give it back, in ms. Default 300,000. */
  readonly reservationTtlMs?: number;
  /** Current time in ms. Default `Date.now`. */
  readonly now?: () => number;
}

type ReservationState = "pending" | "confirmed" | "released" | "expired";

interface Stock {
  available: bigint;
  reserved: bigint;
}

interface Reservation {
  /** "" for a tombstone (released before it was reserved). */
  readonly key: string;
  readonly quantities: ReadonlyMap<string, bigint>;
  readonly outcome: { readonly levels: readonly StockSnapshot[]; readonly changes: readonly StockChange[] };
  state: ReservationState;
  published: boolean;
}

/** Checks a TTL option: a positive integer number of milliseconds. */
export function parseReservationTtlMs(value: number | undefined): number {
  const ttl = value ?? DEFAULT_RESERVATION_TTL_MS;
  if (!Number.isInteger(ttl) || ttl < 1) throw new TypeError("options.reservationTtlMs must be a positive integer (milliseconds)");
  return ttl;
}

/**
 * The in-memory ledger (the embedded default of `npm start`), with the given starting stock (product id
 * -> available units). Every operation runs without awaiting anything, so within one process a
 * reservation checks and takes stock in one step and concurrent orders can never drive `available`
 * below zero. Only one process can use it: replicas need `createRedisStockLedger`.
 */
export function createStockLedger(
  initial: Iterable<readonly [string, number | bigint]>,
  options: MemoryStockLedgerOptions = {},
): StockLedger {
  const ttlMs = parseReservationTtlMs(options.reservationTtlMs);
  const now = options.now ?? Date.now;
  const stock = new Map<string, Stock>();
  for (const [productId, units] of initial) {
    const available = BigInt(units);
    if (available < 0n) throw new RangeError(`initial stock of ${productId} must not be negative`);
    stock.set(productId, { available, reserved: 0n });
  }
  const reservations = new Map<string, Reservation>();
  // Pending reservation id -> deadline. The TTL is fixed, so insertion order is deadline order.
  const pending = new Map<string, number>();

  const snapshot = (productId: string, s: Stock): StockSnapshot => ({ productId, available: s.available, reserved: s.reserved });

  function giveBack(reservation: Reservation): StockChange[] {
    const changes: StockChange[] = [];
    for (const [productId, quantity] of reservation.quantities) {
      const s = stock.get(productId)!;
      s.available += quantity;
      s.reserved -= quantity;
      changes.push({ productId, available: s.available, delta: quantity });
    }
    return changes;
  }

  /** Takes every quantity or nothing; returns undefined when one is short. */
  function take(quantities: ReadonlyMap<string, bigint>): { levels: StockSnapshot[]; changes: StockChange[] } | undefined {
    for (const [productId, quantity] of quantities) if (stock.get(productId)!.available < quantity) return undefined;
    const levels: StockSnapshot[] = [];
    const changes: StockChange[] = [];
    for (const [productId, quantity] of quantities) {
      const s = stock.get(productId)!;
      s.available -= quantity;
      s.reserved += quantity;
      levels.push(snapshot(productId, s));
      changes.push({ productId, available: s.available, delta: -quantity });
    }
    return { levels, changes };
  }

  function remember(reservationId: string, reservation: Reservation): void {
    reservations.set(reservationId, reservation);
    if (reservations.size <= DEFAULT_MAX_RESERVATIONS) return;
    // Bounds memory: the oldest released or expired reservation is dropped (open ones are kept).
    for (const [id, r] of reservations) {
      if (r.state === "released" || r.state === "expired") {
        reservations.delete(id);
        return;
      }
    }
  }

  const ledger: StockLedger = {
    async levels(productIds) {
      return productIds.map((id) => {
        const s = stock.get(id);
        return s && snapshot(id, s);
      });
    },

    async reserve(reservationId, lines) {
      const quantities = mergeQuantities(lines);
      const key = reservationKey(quantities);
      const previous = reservations.get(reservationId);
      if (previous) {
        if (previous.key === "") throw ledgerErrors.releasedBefore(reservationId);
        if (previous.key !== key) throw ledgerErrors.conflict(reservationId);
        return { ...previous.outcome, fresh: false, published: previous.published };
      }
      for (const [productId, quantity] of quantities) {
        const s = stock.get(productId);
        if (!s) throw ledgerErrors.notFound(productId);
        if (s.available < quantity) throw ledgerErrors.short(productId, quantity, s.available);
      }
      const outcome = take(quantities)!;
      remember(reservationId, { key, quantities, outcome, state: "pending", published: false });
      pending.set(reservationId, now() + ttlMs);
      return { ...outcome, fresh: true, published: false };
    },

    async markPublished(reservationId) {
      const reservation = reservations.get(reservationId);
      if (reservation) reservation.published = true;
    },

    async confirm(reservationId) {
      const reservation = reservations.get(reservationId);
      if (!reservation || reservation.key === "") return { status: "unknown", changes: [] };
      switch (reservation.state) {
        case "confirmed":
          return { status: "already-confirmed", changes: [] };
        case "released":
          return { status: "released", changes: [] };
        case "pending":
          reservation.state = "confirmed";
          pending.delete(reservationId);
          return { status: "confirmed", changes: [] };
        case "expired": {
          const taken = take(reservation.quantities);
          if (!taken) return { status: "lost", changes: [] };
          reservation.state = "confirmed";
          return { status: "reclaimed", changes: taken.changes };
        }
      }
    },

    async release(reservationId) {
      const reservation = reservations.get(reservationId);
      if (!reservation) {
        remember(reservationId, { key: "", quantities: new Map(), outcome: { levels: [], changes: [] }, state: "released", published: true });
        return { released: false, changes: [] };
      }
      if (reservation.state === "released" || reservation.state === "expired") return { released: false, changes: [] };
      reservation.state = "released";
      pending.delete(reservationId);
      return { released: true, changes: giveBack(reservation) };
    },

    async restock(productId, quantity) {
      const s = stock.get(productId);
      if (!s) throw ledgerErrors.notFound(productId);
      s.available += quantity;
      return snapshot(productId, s);
    },

    async expireDue(limit = DEFAULT_EXPIRE_BATCH) {
      const expired: ExpiredReservation[] = [];
      const at = now();
      for (const [reservationId, deadline] of pending) {
        if (deadline > at || expired.length >= limit) break;
        pending.delete(reservationId);
        const reservation = reservations.get(reservationId);
        if (reservation?.state !== "pending") continue;
        reservation.state = "expired";
        expired.push({ reservationId, changes: giveBack(reservation) });
      }
      return expired;
    },
  };
  return ledger;
}
