import { randomUUID } from "node:crypto";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { InventoryService, type StockLevel } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import type { EventBus } from "../../mesh/events/index.ts";
import { requireOptions } from "../shared/index.ts";
import { publishStockChanges } from "./stock-events.ts";
import type { StockLedger, StockSnapshot } from "./stock-ledger.ts";
import { withValidation } from "../../mesh/validation/index.ts";

/** Options of {@link createInventoryService}. */
export interface InventoryServiceOptions {
  /**
   * The stock. Required. In one process `createStockLedger(await loadSeedStock())`; for replicas
   * `createRedisStockLedger({ redis, keyPrefix })`, seeded once with `seedIfAbsent`.
   */
  readonly ledger: StockLedger;
  /** Where StockChanged events go. Required. */
  readonly events: EventBus;
  /** Current time. Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** Bounds from the contract. */
export const MAX_IDS_PER_CALL = 100;
export const MAX_QUANTITY_PER_ITEM = 1000;
export const MAX_RESTOCK_QUANTITY = 1_000_000n;

/**
 * Builds the InventoryService handlers over a {@link StockLedger} (in memory, or in Redis shared by
 * replicas); every change of available stock publishes StockChanged. Reservations start pending: run
 * `startReservationLifecycle` beside the handlers so that placed orders confirm them and abandoned ones
 * expire.
 */
export function createInventoryService(options: InventoryServiceOptions): ServiceImpl<typeof InventoryService> {
  requireOptions(options, "ledger", "events");
  const { ledger, events } = options;
  const now = options.now ?? (() => new Date());

  // Field bounds (ids, counts, quantities) are the contract's rules, checked before a handler runs.
  return withValidation(InventoryService, {
    async getStock(req) {
      const found = await ledger.levels(req.productIds);
      const levels = found.map((level, i) => {
        if (!level) throw new ConnectError(`product ${req.productIds[i]} not found`, Code.NotFound);
        return toLevel(level);
      });
      return { levels };
    },

    async reserve(req, ctx) {
      const reservationId = req.reservationId;
      const lines = req.items.map(({ productId, quantity }) => ({ productId, quantity }));
      const outcome = await ledger.reserve(reservationId, lines);
      // Until the events are stored, a retry (reaching any replica) publishes them again, with the same
      // ids, so the bus keeps each once.
      if (!outcome.published) {
        await publishStockChanges(events, outcome.changes, `stock:reserve:${reservationId}`, now(), ctx.signal);
        await ledger.markPublished(reservationId);
      }
      return { reservationId, levels: outcome.levels.map(toLevel) };
    },

    async release(req, ctx) {
      const reservationId = req.reservationId;
      const outcome = await ledger.release(reservationId);
      if (outcome.released) await publishStockChanges(events, outcome.changes, `stock:release:${reservationId}`, now(), ctx.signal);
      return { released: outcome.released };
    },

    async restock(req, ctx) {
      const { productId, quantity } = req;
      const level = await ledger.restock(productId, quantity);
      await publishStockChanges(events, [{ productId, available: level.available, delta: quantity }], `stock:restock:${randomUUID()}`, now(), ctx.signal);
      return { level: toLevel(level) };
    },
  });
}

function toLevel(snapshot: StockSnapshot): Omit<StockLevel, "$typeName"> {
  return { productId: snapshot.productId, available: snapshot.available, reserved: snapshot.reserved };
}
