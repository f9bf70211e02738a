import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { context, SpanStatusCode, trace, type Context, type Tracer } from "@opentelemetry/api";
import { SpanEvents, startProcessSpan, startPublishSpan } from "../telemetry/index.ts";
import { EventsOptionsError, raceAbort } from "../errors/index.ts";
import type {
  DeadLetter,
  EventBus,
  EventHandler,
  EventMeta,
  PublishOptions,
  SubscribeOptions,
  Subscription,
} from "./event-bus.ts";
import { failureReason, parseSubscribeOptions } from "./subscribe-options.ts";

/** Options for `createMemoryEventBus`. */
export interface MemoryEventBusOptions {
  /** Name of the publishing service, carried as the envelope's `source`. Default `"local"`. */
  readonly source?: string;
  /** A publish with an id seen within this window is dropped (like JetStream's duplicate window). Default 120,000. */
  readonly duplicateWindowMs?: number;
  /** Delay before a failed event is delivered again. Default 100. */
  readonly redeliveryDelayMs?: number;
  /** Most events waiting per consumer; a publish beyond it fails with RESOURCE_EXHAUSTED. Default 100,000. */
  readonly maxPendingPerConsumer?: number;
  /** Called for every dead-lettered event. Default: nothing. */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
  /** Records a PRODUCER span per publish and a CONSUMER span per delivery, its child. Default none. */
  readonly tracer?: Tracer;
}

interface StoredEvent {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: Date;
  readonly payload: Uint8Array;
  /** The publish span's context (tracing on): each delivery's span is its child. */
  readonly trace?: Context;
  deliveryCount: number;
}

interface Subscriber {
  readonly schema: DescMessage;
  readonly handler: EventHandler<DescMessage>;
  readonly concurrency: number;
  readonly maxDeliver: number;
  inFlight: number;
  draining: boolean;
  readonly idle: Array<() => void>;
}

/** A consumer group: its pending events outlive its subscribers, like a durable consumer. */
interface Group {
  readonly name: string;
  readonly queue: StoredEvent[];
  readonly subscribers: Subscriber[];
  next: number;
}

/**
 * An in-process event bus with the JetStream bus's semantics: each consumer name gets every event of
 * its type once, delivered to one of its subscribers; a handler that throws gets the event again after
 * `redeliveryDelayMs`, up to `maxDeliver` deliveries, then it is dead-lettered; a publish repeating an
 * id within the duplicate window is stored once. Nothing survives the process.
 */
export function createMemoryEventBus(options: MemoryEventBusOptions = {}): EventBus {
  const source = options.source ?? "local";
  const duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
  const redeliveryDelayMs = options.redeliveryDelayMs ?? 100;
  const maxPending = options.maxPendingPerConsumer ?? 100_000;
  const onDeadLetter = options.onDeadLetter ?? (() => {});
  for (const [field, value] of Object.entries({ duplicateWindowMs, redeliveryDelayMs, maxPending })) {
    if (!Number.isFinite(value) || value < 0) throw new EventsOptionsError(`options.${field} must be a non-negative number`);
  }

  const groupsByType = new Map<string, Map<string, Group>>();
  const seenIds = new Map<string, number>(); // id -> publish time; insertion order = time order
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  function forgetOldIds(now: number): void {
    for (const [id, at] of seenIds) {
      if (now - at < duplicateWindowMs) break;
      seenIds.delete(id);
    }
  }

  function pump(group: Group): void {
    while (group.queue.length > 0) {
      const sub = pickSubscriber(group);
      if (!sub) return;
      deliver(group, sub, group.queue.shift()!);
    }
  }

  function pickSubscriber(group: Group): Subscriber | undefined {
    const n = group.subscribers.length;
    for (let i = 0; i < n; i++) {
      const sub = group.subscribers[(group.next + i) % n];
      if (!sub.draining && sub.inFlight < sub.concurrency) {
        group.next = (group.next + i + 1) % n;
        return sub;
      }
    }
    return undefined;
  }

  function deliver(group: Group, sub: Subscriber, event: StoredEvent): void {
    event.deliveryCount++;
    sub.inFlight++;
    const meta: EventMeta = {
      id: event.id,
      type: event.type,
      source: event.source,
      time: event.time,
      deliveryCount: event.deliveryCount,
    };
    let message;
    try {
      message = fromBinary(sub.schema, event.payload);
    } catch (err) {
      settle(group, sub, event, meta, err);
      return;
    }
    const tracer = options.tracer;
    if (tracer === undefined || event.trace === undefined) {
      Promise.resolve()
        .then(() => sub.handler(message, meta))
        .then(
          () => settle(group, sub, event, meta, undefined),
          (err: unknown) => settle(group, sub, event, meta, err ?? new Error("handler failed")),
        );
      return;
    }
    const span = startProcessSpan(tracer, event.trace, { system: "memory", destination: event.type, id: event.id, type: event.type }, group.name, event.deliveryCount);
    context.with(trace.setSpan(event.trace, span), () => Promise.resolve().then(() => sub.handler(message, meta))).then(
      () => {
        span.end();
        settle(group, sub, event, meta, undefined);
      },
      (err: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: "the handler failed" });
        if (event.deliveryCount >= sub.maxDeliver) span.addEvent(SpanEvents.deadLetter);
        else span.addEvent(SpanEvents.redeliver);
        span.end();
        settle(group, sub, event, meta, err ?? new Error("handler failed"));
      },
    );
  }

  function settle(group: Group, sub: Subscriber, event: StoredEvent, meta: EventMeta, err: unknown): void {
    sub.inFlight--;
    if (err !== undefined) {
      if (event.deliveryCount >= sub.maxDeliver) {
        onDeadLetter({ consumer: group.name, meta, reason: failureReason(err), payload: event.payload });
      } else if (!closed) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          group.queue.push(event);
          pump(group);
        }, redeliveryDelayMs);
        timers.add(timer);
      }
    }
    if (sub.inFlight === 0) for (const wake of sub.idle.splice(0)) wake();
    pump(group);
  }

  return {
    async publish(schema, init, publishOptions: PublishOptions = {}) {
      if (closed) throw new ConnectError("event bus is closed", Code.Unavailable);
      const id = publishOptions.id ?? crypto.randomUUID();
      const now = Date.now();
      forgetOldIds(now);
      if (seenIds.has(id)) return { id };
      const payload = toBinary(schema, create(schema, init));
      const groups = groupsByType.get(schema.typeName);
      for (const group of groups?.values() ?? []) {
        if (group.queue.length >= maxPending) {
          throw new ConnectError(`consumer ${group.name} has ${maxPending} events pending`, Code.ResourceExhausted);
        }
      }
      seenIds.set(id, now);
      const span = options.tracer === undefined ? undefined : startPublishSpan(options.tracer, { system: "memory", destination: schema.typeName, id, type: schema.typeName });
      const traceContext = span === undefined ? undefined : trace.setSpan(context.active(), span);
      for (const group of groups?.values() ?? []) {
        group.queue.push({ id, type: schema.typeName, source, time: new Date(now), payload, deliveryCount: 0, trace: traceContext });
        pump(group);
      }
      span?.end();
      return raceAbort(Promise.resolve({ id }), publishOptions.signal);
    },

    async subscribe(schema, consumer, handler, subscribeOptions: SubscribeOptions = {}) {
      if (closed) throw new ConnectError("event bus is closed", Code.Unavailable);
      const { concurrency, maxDeliver } = parseSubscribeOptions(subscribeOptions, consumer);
      let groups = groupsByType.get(schema.typeName);
      if (!groups) groupsByType.set(schema.typeName, (groups = new Map()));
      let group = groups.get(consumer);
      if (!group) groups.set(consumer, (group = { name: consumer, queue: [], subscribers: [], next: 0 }));
      const sub: Subscriber = {
        schema,
        handler: handler as EventHandler<DescMessage>,
        concurrency,
        maxDeliver,
        inFlight: 0,
        draining: false,
        idle: [],
      };
      group.subscribers.push(sub);
      const owner = group;
      const subscription: Subscription = {
        async drain() {
          if (!sub.draining) {
            sub.draining = true;
            owner.subscribers.splice(owner.subscribers.indexOf(sub), 1);
            pump(owner); // hand anything waiting to the remaining subscribers
          }
          if (sub.inFlight > 0) await new Promise<void>((resolve) => sub.idle.push(resolve));
          subscriptions.delete(subscription);
        },
      };
      subscriptions.add(subscription);
      pump(group);
      return subscription;
    },

    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...subscriptions].map((s) => s.drain()));
    },
  };
}
