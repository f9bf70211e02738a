export type {
  DeadLetter,
  EventBus,
  EventHandler,
  EventMeta,
  PublishOptions,
  SubscribeOptions,
  Subscription,
} from "./event-bus.ts";
export { createMemoryEventBus } from "./memory-event-bus.ts";
export type { MemoryEventBusOptions } from "./memory-event-bus.ts";
export { DEFAULT_CONCURRENCY, DEFAULT_MAX_DELIVER } from "./subscribe-options.ts";
export { createJetStreamEventBus } from "./jetstream-event-bus.ts";
/** The streams a process publishes to and consumes from (the admin API's topology edges). */
export { createEventFlows } from "./event-flows.ts";
export type { EventFlowCounter, EventFlowDirection, EventFlowRecord, EventFlows } from "./event-flows.ts";
export type { JetStreamEventBusOptions } from "./jetstream-event-bus.ts";
export { EnvelopeHeaders } from "./envelope.ts";
export { eventNames, streamNamePrefix } from "./event-names.ts";
export type { EventNames } from "./event-names.ts";
export { natsToConnectError } from "./nats-errors.ts";
export { createIdempotencyStore } from "./idempotency.ts";
export type { IdempotencyOptions, IdempotencyStore, RedisCommand } from "./idempotency.ts";
export { EventsOptionsError } from "../errors/index.ts";
