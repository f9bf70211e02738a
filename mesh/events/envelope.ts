import { context, propagation, ROOT_CONTEXT } from "@opentelemetry/api";
import type { Context, TextMapGetter, TextMapSetter } from "@opentelemetry/api";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { EventMeta } from "./event-bus.ts";

/**
 * The event envelope travels in NATS headers, CloudEvents-style (binary content mode), so the payload
 * stays plain binary Protobuf. `Nats-Msg-Id` (the dedupe key) is set by the publisher to the same id.
 */
export const EnvelopeHeaders = {
  id: "ce-id",
  type: "ce-type",
  source: "ce-source",
  time: "ce-time",
  specVersion: "ce-specversion",
  contentType: "content-type",
  traceparent: "traceparent",
  tracestate: "tracestate",
  /** On dead letters: why the last delivery failed. */
  deadLetterReason: "Weft-Dead-Letter-Reason",
  /** On dead letters: the consumer that gave up. */
  deadLetterConsumer: "Weft-Dead-Letter-Consumer",
  /** On dead letters: how many deliveries were made. */
  deadLetterDeliveries: "Weft-Dead-Letter-Deliveries",
} as const;

const PROTOBUF_CONTENT_TYPE = "application/protobuf";

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};
const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => carrier?.keys() ?? [],
  get: (carrier, key) => (carrier?.has(key) ? carrier.get(key) : undefined),
};

/** Envelope headers for a new event, with the active trace context injected by the global propagator. */
export function envelopeHeaders(id: string, type: string, source: string, time: Date): MsgHdrs {
  const h = natsHeaders();
  h.set(EnvelopeHeaders.id, id);
  h.set(EnvelopeHeaders.type, type);
  h.set(EnvelopeHeaders.source, source);
  h.set(EnvelopeHeaders.time, time.toISOString());
  h.set(EnvelopeHeaders.specVersion, "1.0");
  h.set(EnvelopeHeaders.contentType, PROTOBUF_CONTENT_TYPE);
  propagation.inject(context.active(), h, setter);
  return h;
}

/** Reads the envelope of a received event; missing fields fall back to what the broker knows. */
export function readEnvelope(
  h: MsgHdrs | undefined,
  fallback: { type: string; time: Date; deliveryCount: number },
): EventMeta {
  const get = (key: string) => (h?.has(key) ? h.get(key) : "");
  const time = get(EnvelopeHeaders.time);
  const traceparent = get(EnvelopeHeaders.traceparent);
  return {
    id: get(EnvelopeHeaders.id) || get("Nats-Msg-Id"),
    type: get(EnvelopeHeaders.type) || fallback.type,
    source: get(EnvelopeHeaders.source),
    time: time ? new Date(time) : fallback.time,
    deliveryCount: fallback.deliveryCount,
    ...(traceparent ? { traceparent } : {}),
  };
}

/** The trace context the publisher sent, for running the handler in (ROOT when none). */
export function extractTraceContext(h: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, h, getter);
}
