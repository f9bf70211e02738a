import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { StockChangedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { InventoryService, type StockLevel } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import type { EventBus } from "../../mesh/events/event-bus.ts";
import { requireCount, requireIntInRange, requireText } from "../shared/field-errors.ts";
import type { StockChange, StockLedger, StockSnapshot } from "./stock-ledger.ts";

/** Options of {@link createInventoryService}. */
export interface InventoryServiceOptions {
  /** The stock (e.g. `createStockLedger(await loadSeedStock())`). Required. */
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
const MAX_ID_LENGTH = 128;

/** Builds the InventoryService handlers; every change of available stock publishes StockChanged. */
export function createInventoryService(options: InventoryServiceOptions): ServiceImpl<typeof InventoryService> {
  if (!options?.ledger) throw new TypeError("options.ledger is required");
  if (!options.events) throw new TypeError("options.events is required");
  const { ledger, events } = options;
  const now = options.now ?? (() => new Date());
  // Reservations whose StockChanged events were not stored yet; a retry of Reserve publishes them again
  // (with the same event ids, so the bus stores each once).
  const unpublished = new Set<string>();

  async function publish(changes: readonly StockChange[], idPrefix: string, signal: AbortSignal): Promise<void> {
    const changedAt = timestampFromDate(now());
    await Promise.all(
      changes.map((change) =>
        events.publish(StockChangedSchema, { ...change, changedAt }, { id: `${idPrefix}:${change.productId}`, signal }),
      ),
    );
  }

  return {
    async getStock(req) {
      requireCount(req.productIds, "product_ids", 1, MAX_IDS_PER_CALL);
      const levels = req.productIds.map((id, i) => {
        requireText(id, `product_ids[${i}]`, MAX_ID_LENGTH);
        const level = ledger.level(id);
        if (!level) throw new ConnectError(`product ${id} not found`, Code.NotFound);
        return toLevel(level);
      });
      return { levels };
    },

    async reserve(req, ctx) {
      const reservationId = requireText(req.reservationId, "reservation_id", MAX_ID_LENGTH);
      requireCount(req.items, "items", 1, MAX_IDS_PER_CALL);
      const lines = req.items.map((item, i) => ({
        productId: requireText(item.productId, `items[${i}].product_id`, MAX_ID_LENGTH),
        quantity: requireIntInRange(item.quantity, `items[${i}].quantity`, 1, MAX_QUANTITY_PER_ITEM),
      }));
      const outcome = ledger.reserve(reservationId, lines);
      if (outcome.fresh || unpublished.has(reservationId)) {
        unpublished.add(reservationId);
        await publish(outcome.changes, `stock:reserve:${reservationId}`, ctx.signal);
        unpublished.delete(reservationId);
      }
      return { reservationId, levels: outcome.levels.map(toLevel) };
    },

    async release(req, ctx) {
      const reservationId = requireText(req.reservationId, "reservation_id", MAX_ID_LENGTH);
      const outcome = ledger.release(reservationId);
      unpublished.delete(reservationId);
      if (outcome.released) await publish(outcome.changes, `stock:release:${reservationId}`, ctx.signal);
      return { released: outcome.released };
    },

    async restock(req, ctx) {
      const productId = requireText(req.productId, "product_id", MAX_ID_LENGTH);
      const quantity = requireIntInRange(req.quantity, "quantity", 1n, MAX_RESTOCK_QUANTITY);
      const level = ledger.restock(productId, quantity);
      await publish([{ productId, available: level.available, delta: quantity }], `stock:restock:${randomUUID()}`, ctx.signal);
      return { level: toLevel(level) };
    },
  };
}

function toLevel(snapshot: StockSnapshot): Omit<StockLevel, "$typeName"> {
  return { productId: snapshot.productId, available: snapshot.available, reserved: snapshot.reserved };
}
