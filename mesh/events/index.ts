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
