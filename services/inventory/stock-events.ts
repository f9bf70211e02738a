import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { StockChangedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import type { EventBus } from "../../mesh/events/index.ts";
import type { StockChange } from "./stock-ledger.ts";

/**
 * Publishes one StockChanged per change, with ids `<idPrefix>:<product id>`: a retried publish of the
 * same change (from any replica) is stored once by the bus's dedupe.
 */
export async function publishStockChanges(
  events: EventBus,
  changes: readonly StockChange[],
  idPrefix: string,
  at: Date,
  signal?: AbortSignal,
): Promise<void> {
  const changedAt = timestampFromDate(at);
  await Promise.all(
    changes.map((change) => events.publish(StockChangedSchema, { ...change, changedAt }, { id: `${idPrefix}:${change.productId}`, signal })),
  );
}
