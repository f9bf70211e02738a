import { context, createContextKey, propagation, ROOT_CONTEXT } from "@opentelemetry/api";
import type { Context, TextMapGetter, TextMapSetter } from "@opentelemetry/api";
import { MsgHdrsImpl } from "@nats-io/transport-node";
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

/**
 * Where a received event's raw W3C headers ride along in the handler's context, so that events the
 * handler publishes carry them on even when no propagator is installed (pass-through).
 */
const RAW_TRACE_KEY = createContextKey("weft.events.raw-trace-context");

interface RawTrace {
  readonly traceparent: string;
  readonly tracestate: string;
}

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};
const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => carrier?.keys() ?? [],
  get: (carrier, key) => (carrier?.has(key) ? carrier.get(key) : undefined),
};

/** The JetStream dedupe header, set here with the envelope rather than by js.publish's `msgID` (one lookup less). */
const MSG_ID_HEADER = "Nats-Msg-Id";

/**
 * Envelope headers for a new event (and its `Nats-Msg-Id`), with the active trace context injected by
 * the global propagator.
 */
export function envelopeHeaders(id: string, type: string, source: string, time: string): MsgHdrs {
  // Filled straight into the header map: the keys are constants, and nats.js's set() canonicalises and
  // searches every key again, which was most of a typed publish's client CPU. Values are checked as set() would.
  const h = new MsgHdrsImpl();
  const map = h.headers;
  const safeId = MsgHdrsImpl.validHeaderValue(id);
  map.set(EnvelopeHeaders.id, [safeId]);
  map.set(EnvelopeHeaders.type, [type]);
  map.set(EnvelopeHeaders.source, [MsgHdrsImpl.validHeaderValue(source)]);
  map.set(EnvelopeHeaders.time, [time]);
  map.set(EnvelopeHeaders.specVersion, ["1.0"]);
  map.set(EnvelopeHeaders.contentType, [PROTOBUF_CONTENT_TYPE]);
  map.set(MSG_ID_HEADER, [safeId]);
  const active = context.active();
  propagation.inject(active, h, setter);
  if (!map.has(EnvelopeHeaders.traceparent)) {
    const raw = active.getValue(RAW_TRACE_KEY) as RawTrace | undefined;
    if (raw) {
      h.set(EnvelopeHeaders.traceparent, raw.traceparent);
      if (raw.tracestate) h.set(EnvelopeHeaders.tracestate, raw.tracestate);
    }
  }
  return h;
}

/**
 * The current time as an ISO 8601 string (the envelope's `ce-time`), formatted once per millisecond:
 * a busy publisher sends many events within one, and formatting a Date costs about as much as the rest
 * of the envelope.
 */
export function createIsoClock(): () => string {
  let lastMs = Number.NaN;
  let last = "";
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      last = new Date(now).toISOString();
    }
    return last;
  };
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

/**
 * The trace context the publisher sent, for running the handler in: what the global propagator
 * extracts, plus the raw W3C headers for pass-through (ROOT when none).
 */
export function extractTraceContext(h: MsgHdrs | undefined): Context {
  const extracted = propagation.extract(ROOT_CONTEXT, h, getter);
  const traceparent = getter.get(h, EnvelopeHeaders.traceparent);
  if (typeof traceparent !== "string" || traceparent === "") return extracted;
  const tracestate = getter.get(h, EnvelopeHeaders.tracestate);
  const raw: RawTrace = { traceparent, tracestate: typeof tracestate === "string" ? tracestate : "" };
  return extracted.setValue(RAW_TRACE_KEY, raw);
}
