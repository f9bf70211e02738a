// CLIENT spans: one per attempt of an outgoing call, its traceparent written into the request headers
// (HTTP/2 headers, or the Connect-over-NATS envelope's metadata) so the server continues the trace.

import { ConnectError, type Transport } from "@connectrpc/connect";
import { context, propagation, SpanKind, trace, type Attributes, type Span, type Tracer } from "@opentelemetry/api";
import { SpanAttributes } from "./names.ts";
import { headersSetter, rpcAttributes, rpcSpanName, setRpcOutcome } from "./rpc-span.ts";

/** A started client span and the headers to send (the caller's, plus traceparent). */
export interface ClientSpan {
  readonly span: Span;
  readonly system: string;
  readonly header: Headers;
}

/**
 * Starts a CLIENT span for `service/method` under the active context and returns headers that carry
 * it. `protocol` goes to `weft.rpc.protocol`; `attributes` (endpoint, attempt, hedge) are built only
 * for a span that records.
 */
export function startClientSpan(
  tracer: Tracer,
  serviceTypeName: string,
  methodName: string,
  protocol: string,
  header: HeadersInit | undefined,
  attributes?: () => Attributes,
): ClientSpan {
  const system = protocol === "grpc" || protocol === "grpc-web" ? "grpc" : "connect_rpc";
  const active = context.active();
  const span = tracer.startSpan(rpcSpanName(serviceTypeName, methodName), { kind: SpanKind.CLIENT }, active);
  if (span.isRecording()) {
    const attrs = rpcAttributes(system, serviceTypeName, methodName);
    attrs[SpanAttributes.weftProtocol] = protocol;
    if (attributes !== undefined) Object.assign(attrs, attributes());
    span.setAttributes(attrs);
  }
  const headers = new Headers(header);
  propagation.inject(trace.setSpan(active, span), headers, headersSetter);
  return { span, system, header: headers };
}

/** Ends a client span with the call's outcome (`error` undefined on success). */
export function endClientSpan(cs: ClientSpan, error: unknown): void {
  if (cs.span.isRecording()) setRpcOutcome(cs.span, cs.system, error === undefined ? undefined : ConnectError.from(error), "client");
  cs.span.end();
}

/** `server.address` / `server.port` of a "host:port" endpoint address. */
export function peerAttributes(address: string): Attributes {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return { [SpanAttributes.serverAddress]: address };
  return { [SpanAttributes.serverAddress]: address.slice(0, colon).replace(/^\[|\]$/g, ""), [SpanAttributes.serverPort]: Number(address.slice(colon + 1)) };
}

/**
 * Wraps a Connect transport so every call records a CLIENT span and sends its traceparent (the
 * in-process shop's transport; the mesh client records per attempt itself). `protocol` names the
 * transport in `weft.rpc.protocol`.
 */
export function traceTransport(transport: Transport, tracer: Tracer, protocol: string): Transport {
  return {
    unary(method, signal, timeoutMs, header, input, contextValues) {
      const cs = startClientSpan(tracer, method.parent.typeName, method.name, protocol, header);
      return context.with(trace.setSpan(context.active(), cs.span), () => transport.unary(method, signal, timeoutMs, cs.header, input, contextValues)).then(
        (res) => {
          endClientSpan(cs, undefined);
          return res;
        },
        (err: unknown) => {
          endClientSpan(cs, err);
          throw err;
        },
      );
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const cs = startClientSpan(tracer, method.parent.typeName, method.name, protocol, header);
      try {
        const res = await context.with(trace.setSpan(context.active(), cs.span), () => transport.stream(method, signal, timeoutMs, cs.header, input, contextValues));
        endClientSpan(cs, undefined);
        return res;
      } catch (err) {
        endClientSpan(cs, err);
        throw err;
      }
    },
  };
}
