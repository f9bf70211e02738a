import { timestampMs } from "@bufbuild/protobuf/wkt";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import type { EventBus, Subscription } from "../../mesh/events/index.ts";
import type { OrderLog } from "./order-log.ts";

/** Options of {@link startOrderConsumer}. */
export interface OrderConsumerOptions {
  /** Where OrderPlaced comes from. Required. */
  readonly events: EventBus;
  /** Where orders are recorded (by event id, so a redelivery records nothing). Required. */
  readonly orders: OrderLog;
  /** Durable consumer name, shared by every recommendations replica. Default "recommendations". */
  readonly consumer?: string;
  /** Events handled at once. Default: the bus's (16). */
  readonly concurrency?: number;
}

/**
 * Records every OrderPlaced in the order log under its event id. The event is acked only after the
 * record is stored, so a consumer killed mid-batch loses nothing, and its redelivered events find their
 * ids recorded and count nothing twice.
 */
export async function startOrderConsumer(options: OrderConsumerOptions): Promise<Subscription> {
  if (!options?.events) throw new TypeError("options.events is required");
  if (!options.orders) throw new TypeError("options.orders is required");
  const { orders } = options;
  return await options.events.subscribe(
    OrderPlacedSchema,
    options.consumer ?? "recommendations",
    async (placed, meta) => {
      const atMs = placed.placedAt === undefined ? meta.time.getTime() : timestampMs(placed.placedAt);
      await orders.record(meta.id, { userId: placed.userId, productIds: placed.items.map((line) => line.productId), atMs });
    },
    { concurrency: options.concurrency },
  );
}
