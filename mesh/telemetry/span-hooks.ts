// Server spans as host call hooks: one SERVER span per call on every transport the hooks run on
// (Connect, gRPC, gRPC-Web, Connect over NATS, in-process), parented to the caller's W3C traceparent,
// with the handler run inside the span's context so that its own calls, events and tasks are children.

import type { DescService } from "@bufbuild/protobuf";
import type { ConnectError, HandlerContext } from "@connectrpc/connect";
import { context as otelContext, propagation, SpanKind, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { readsRawHeaders, requestHeaderValue, type ServerCallHooks } from "../engine/index.ts";
import { SpanAttributes } from "./names.ts";
import { headersGetter, rpcAttributes, rpcSpanName, rpcSystemOf, setRpcOutcome } from "./rpc-span.ts";

/** Options of {@link createTracingCallHooks}. */
export interface TracingCallHooksOptions {
  /** The tracer of this process (`Tracing.tracer`). Required. */
  readonly tracer: Tracer;
  /** Protocol name for contexts that carry none (hooks run as an interceptor). Default "connect". */
  readonly protocol?: string;
}

interface CallSpan {
  readonly span: Span;
  readonly system: string;
  readonly context: Context;
  readonly ctx: HandlerContext;
}

// The caller's W3C context read from the request headers (on the active context, for in-process callers).
function parentOf(ctx: HandlerContext): Context {
  const active = otelContext.active();
  if (!readsRawHeaders(ctx)) return propagation.extract(active, ctx.requestHeader, headersGetter);
  const traceparent = requestHeaderValue(ctx, "traceparent");
  if (traceparent === undefined) return active;
  const tracestate = requestHeaderValue(ctx, "tracestate");
  return propagation.extract(active, tracestate === undefined ? { traceparent } : { traceparent, tracestate });
}

/** A SERVER span per hooked call. Install only when tracing is on: with it off there is nothing to hook. */
export function createTracingCallHooks(options: TracingCallHooksOptions): ServerCallHooks {
  const { tracer } = options;
  const fallbackProtocol = options.protocol ?? "connect";
  // begin() and scope() see the same HandlerContext; the span travels between them here until end().
  const open = new Map<HandlerContext, CallSpan>();
  return {
    begin(service: DescService, ctx: HandlerContext): CallSpan {
      const protocol = ctx.protocolName ?? fallbackProtocol;
      const system = rpcSystemOf(protocol);
      // The caller's traceparent wins; without one (in-process callers) the active context is the parent.
      const parent = parentOf(ctx);
      const span = tracer.startSpan(rpcSpanName(service.typeName, ctx.method.name), { kind: SpanKind.SERVER }, parent);
      // Attributes only on spans that record: an unsampled call allocates none of them.
      if (span.isRecording()) {
        const attributes = rpcAttributes(system, service.typeName, ctx.method.name);
        attributes[SpanAttributes.weftProtocol] = protocol;
        span.setAttributes(attributes);
      }
      const call: CallSpan = { span, system, context: trace.setSpan(parent, span), ctx };
      open.set(ctx, call);
      return call;
    },
    end(token: unknown, error: ConnectError | undefined) {
      const call = token as CallSpan;
      open.delete(call.ctx);
      if (call.span.isRecording()) setRpcOutcome(call.span, call.system, error, "server");
      call.span.end();
    },
    scope(ctx, fn, ...args) {
      // Scope may run more than once per call (the handler, then the engine's error sanitising, whose
      // log line must carry the trace too): the entry stays until end().
      const call = open.get(ctx);
      if (call === undefined) return fn(...args);
      return otelContext.with(call.context, fn, undefined, ...args);
    },
  };
}
