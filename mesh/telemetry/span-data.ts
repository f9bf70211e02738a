// A finished span as plain, structured-cloneable data: how spans recorded in a worker thread travel
// back to the main thread, whose exporter sends them (one exporter per process, not per thread).

import type { Attributes, HrTime, SpanContext, SpanKind, SpanStatus } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { Resource } from "@opentelemetry/resources";
import type { InstrumentationScope } from "@opentelemetry/core";

/** One finished span, without resource or scope (the exporting process supplies its own). */
export interface SpanData {
  readonly name: string;
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly parentSpanId: string | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly events: readonly { readonly name: string; readonly time: HrTime; readonly attributes?: Attributes }[];
}

/** Copies a finished SDK span into plain data. */
export function toSpanData(span: ReadableSpan): SpanData {
  const sc = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    traceId: sc.traceId,
    spanId: sc.spanId,
    traceFlags: sc.traceFlags,
    parentSpanId: span.parentSpanContext?.spanId,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, time: e.time, ...(e.attributes ? { attributes: e.attributes } : {}) })),
  };
}

/** Rebuilds an exportable span from data, under this process's resource and scope. */
export function fromSpanData(data: SpanData, resource: Resource, scope: InstrumentationScope): ReadableSpan {
  const context: SpanContext = { traceId: data.traceId, spanId: data.spanId, traceFlags: data.traceFlags };
  const parent: SpanContext | undefined = data.parentSpanId === undefined ? undefined : { traceId: data.traceId, spanId: data.parentSpanId, traceFlags: data.traceFlags, isRemote: true };
  const start = data.startTime;
  const end = data.endTime;
  let secs = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    secs -= 1;
    nanos += 1e9;
  }
  return {
    name: data.name,
    kind: data.kind,
    spanContext: () => context,
    parentSpanContext: parent,
    startTime: start,
    endTime: end,
    status: data.status,
    attributes: data.attributes,
    links: [],
    events: data.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes, droppedAttributesCount: 0 })),
    duration: [secs, nanos],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
