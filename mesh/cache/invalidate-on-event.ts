import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { EventBus, EventMeta, SubscribeOptions, Subscription } from "../events/index.ts";
import type { Cache } from "./cache.ts";

/** Options for `invalidateOnEvent`. */
export interface InvalidateOnEventOptions<Desc extends DescMessage> {
  /** The event that makes cached values stale, e.g. `StockChangedSchema`. */
  readonly schema: Desc;
  /** The durable consumer name (the service's name: one replica handles each event). */
  readonly consumer: string;
  /** The cache keys an event makes stale. */
  readonly keys: (event: MessageShape<Desc>, meta: EventMeta) => readonly string[];
  /** Passed to `subscribe`. */
  readonly subscribeOptions?: SubscribeOptions;
}

/**
 * Invalidates cache keys when an event arrives. One replica handles each event, and `invalidate`
 * reaches every replica (the shared store, and each replica's in-process copy over pub/sub). If the
 * cache store is unreachable `invalidate` throws, so the bus redelivers the event later.
 */
export function invalidateOnEvent<Desc extends DescMessage>(
  bus: EventBus,
  cache: Cache,
  options: InvalidateOnEventOptions<Desc>,
): Promise<Subscription> {
  return bus.subscribe(
    options.schema,
    options.consumer,
    async (event, meta) => {
      await Promise.all(options.keys(event, meta).map((key) => cache.invalidate(key)));
    },
    options.subscribeOptions,
  );
}
