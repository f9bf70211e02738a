import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

/** What a consumer learns about an event besides its payload (from the envelope headers). */
export interface EventMeta {
  /** Unique event id; also the publish dedupe key (`Nats-Msg-Id`). */
  readonly id: string;
  /** Fully-qualified Protobuf type name, e.g. `shop.events.v1.OrderPlaced`. */
  readonly type: string;
  /** Name of the service that published it. */
  readonly source: string;
  /** When it was published. */
  readonly time: Date;
  /** 1 on first delivery, higher on redelivery. */
  readonly deliveryCount: number;
  /** W3C `traceparent` of the publishing span, when there was one (the handler also runs in that context). */
  readonly traceparent?: string;
}

/** Options for one publish. */
export interface PublishOptions {
  /** Event id for dedupe; a retried publish with the same id is stored once. Default: a random UUID. */
  readonly id?: string;
  /** Aborts the wait for the broker's acknowledgement. */
  readonly signal?: AbortSignal;
}

/** Options for one subscription. */
export interface SubscribeOptions {
  /** At most this many events handled at once. Default 16. */
  readonly concurrency?: number;
  /** Deliveries before an event is dead-lettered. Default 5. */
  readonly maxDeliver?: number;
}

/** Handles one event; throwing makes it redeliver (until maxDeliver, then it is dead-lettered). */
export type EventHandler<Desc extends DescMessage> = (event: MessageShape<Desc>, meta: EventMeta) => Promise<void>;

/** An event that exhausted its deliveries, with why its last delivery failed. */
export interface DeadLetter {
  /** The consumer (durable name) that gave up on it. */
  readonly consumer: string;
  /** The event's envelope as the consumer last saw it. */
  readonly meta: EventMeta;
  /** The handler's error message from the last delivery. */
  readonly reason: string;
  /** The event payload, binary Protobuf, unchanged. */
  readonly payload: Uint8Array;
}

/** A running subscription. */
export interface Subscription {
  /** Stops taking new events and waits for the ones in hand to finish. */
  drain(): Promise<void>;
}

/**
 * Typed domain events. Subject and stream come from the message type, so services never spell them.
 * The in-memory bus and the JetStream bus implement the same interface.
 */
export interface EventBus {
  /** Publishes one event and resolves once the bus has stored it. */
  publish<Desc extends DescMessage>(
    schema: Desc,
    event: MessageInitShape<Desc>,
    options?: PublishOptions,
  ): Promise<{ id: string }>;
  /**
   * Delivers every event of this type to `consumer` (a durable name shared by a service's replicas:
   * each event goes to one replica).
   */
  subscribe<Desc extends DescMessage>(
    schema: Desc,
    consumer: string,
    handler: EventHandler<Desc>,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  /** Drains every subscription and releases the connection. */
  close(): Promise<void>;
}
