// Messaging spans (semantic conventions for messaging): a PRODUCER span per publish, whose context the
// event carries, and a CONSUMER span per delivery, its child, so one trace runs through the broker.

import { SpanKind, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { SpanAttributes } from "./names.ts";

/** What identifies an event on its way through a bus. */
export interface MessageInfo {
  /** "nats" for JetStream, "memory" for the in-process bus. */
  readonly system: string;
  /** Subject (or type, in memory) the event goes to. */
  readonly destination: string;
  /** The event id (dedupe key). */
  readonly id: string;
  /** Protobuf type name of the event. */
  readonly type: string;
}

/** Starts the PRODUCER span of a publish, under the active context. */
export function startPublishSpan(tracer: Tracer, info: MessageInfo): Span {
  return tracer.startSpan(`publish ${info.destination}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      [SpanAttributes.messagingSystem]: info.system,
      [SpanAttributes.messagingOperationType]: "publish",
      [SpanAttributes.messagingDestination]: info.destination,
      [SpanAttributes.messagingMessageId]: info.id,
      [SpanAttributes.weftEventType]: info.type,
    },
  });
}

/** Starts the CONSUMER span of one delivery, child of the publisher's context `parent`. */
export function startProcessSpan(tracer: Tracer, parent: Context, info: MessageInfo, consumer: string, deliveryCount: number): Span {
  return tracer.startSpan(`process ${info.destination}`, {
    kind: SpanKind.CONSUMER,
    attributes: {
      [SpanAttributes.messagingSystem]: info.system,
      [SpanAttributes.messagingOperationType]: "process",
      [SpanAttributes.messagingDestination]: info.destination,
      [SpanAttributes.messagingMessageId]: info.id,
      [SpanAttributes.messagingConsumerGroup]: consumer,
      [SpanAttributes.messagingDeliveryCount]: deliveryCount,
      [SpanAttributes.weftEventType]: info.type,
    },
  }, parent);
}
