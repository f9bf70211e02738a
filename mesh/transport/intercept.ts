// Client interceptors (connect-es `Interceptor`) around any Weft transport, outermost first, with the
// request and response shapes connect-es transports use.

import { create } from "@bufbuild/protobuf";
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { createContextValues } from "@connectrpc/connect";
import type { ContextValues, Interceptor, StreamRequest, StreamResponse, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import type { WeftTransport } from "./weft-transport.ts";

type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;

function applyInterceptors(next: AnyFn, interceptors: readonly Interceptor[]): AnyFn {
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i](next as never) as AnyFn;
  return next;
}

/** Wraps `raw` so every call runs through `interceptors`. `origin` is "scheme://host:port/prefix". */
export function interceptTransport(raw: WeftTransport, interceptors: readonly Interceptor[], origin: string): WeftTransport {
  if (interceptors.length === 0) return raw;
  const unaryNext = applyInterceptors((req) => {
    const r = req as UnaryRequest;
    return raw.unary(r.method, r.signal, timeoutOf(r), r.header, r.message, r.contextValues);
  }, interceptors);
  const streamNext = applyInterceptors((req) => {
    const r = req as StreamRequest;
    return raw.stream(r.method, r.signal, timeoutOf(r), r.header, r.message, r.contextValues);
  }, interceptors);
  const signalOf = (s: AbortSignal | undefined) => s ?? new AbortController().signal;
  return {
    get outstanding() {
      return raw.outstanding;
    },
    close() {
      raw.close();
    },
    async unary<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: MessageInitShape<I>, contextValues?: ContextValues): Promise<UnaryResponse<I, O>> {
      const req = {
        stream: false, service: method.parent, method, requestMethod: "POST", url: `${origin}/${method.parent.typeName}/${method.name}`,
        signal: signalOf(signal), header: new Headers(header), contextValues: contextValues ?? createContextValues(), message: create(method.input, input),
        [kTimeout]: timeoutMs,
      };
      return (await unaryNext(req as unknown as UnaryRequest)) as UnaryResponse<I, O>;
    },
    async stream<I extends DescMessage, O extends DescMessage>(method: DescMethodStreaming<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<MessageInitShape<I>>, contextValues?: ContextValues): Promise<StreamResponse<I, O>> {
      const req = {
        stream: true, service: method.parent, method, requestMethod: "POST", url: `${origin}/${method.parent.typeName}/${method.name}`,
        signal: signalOf(signal), header: new Headers(header), contextValues: contextValues ?? createContextValues(), message: input,
        [kTimeout]: timeoutMs,
      };
      return (await streamNext(req as unknown as StreamRequest)) as StreamResponse<I, O>;
    },
  };
}

/** The call's timeout travels with the request (symbol keys survive `{...req}`). */
const kTimeout = Symbol("weft.timeoutMs");

function timeoutOf(req: UnaryRequest | StreamRequest): number | undefined {
  return (req as unknown as { [kTimeout]?: number })[kTimeout];
}
