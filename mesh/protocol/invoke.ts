// Runs a handler through connect-es interceptors, with the same request/response shapes and the same
// header copying as connect-es's invoke-implementation, so interceptors written for connect-node work
// unchanged. Only used when interceptors are configured; the engine calls handlers directly otherwise.

import { Code, ConnectError } from "@connectrpc/connect";
import type { HandlerContext, Interceptor, StreamRequest, StreamResponse, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import type { LazyHandlerContext } from "./handler-context.ts";
import type { MethodEntry } from "./method-table.ts";

function requestFields(ctx: LazyHandlerContext, entry: MethodEntry) {
  // Getters keep the signal and Headers lazy until an interceptor reads them; object-literal getters
  // are own enumerable properties, so `{...req}` in an interceptor still copies them.
  return {
    service: entry.service,
    method: entry.method,
    requestMethod: ctx.requestMethod,
    get url() { return ctx.url; },
    get signal() { return ctx.signal; },
    get header() { return ctx.requestHeader; },
    get contextValues() { return ctx.values; },
  };
}

/** The context a handler sees after interceptors possibly replaced header, signal or values. */
function contextFor(ctx: LazyHandlerContext, req: UnaryRequest | StreamRequest, original: object): HandlerContext {
  const d = Object.getOwnPropertyDescriptors(req);
  const untouched = (k: string) => d[k]?.get !== undefined && (Object.getOwnPropertyDescriptor(original, k)?.get === d[k].get);
  if (req === original || (untouched("signal") && untouched("header") && untouched("contextValues"))) return ctx;
  return {
    method: ctx.method,
    service: req.service,
    protocolName: ctx.protocolName,
    requestMethod: ctx.requestMethod,
    url: ctx.url,
    signal: req.signal,
    requestHeader: req.header,
    responseHeader: ctx.responseHeader,
    responseTrailer: ctx.responseTrailer,
    values: req.contextValues,
    timeoutMs: () => ctx.timeoutMs(),
  };
}

type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;

/** connect-es semantics: the first interceptor in the list is the outermost. */
function applyInterceptors(next: AnyFn, interceptors: Interceptor[]): AnyFn {
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i](next as never) as AnyFn;
  return next;
}

function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  const keys: string[] = [];
  to.forEach((_, key) => keys.push(key));
  for (const key of keys) to.delete(key);
  from.forEach((value, key) => to.set(key, value));
}

async function single<T>(input: AsyncIterable<T>, kind: string): Promise<T> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) throw new ConnectError(`protocol error: missing input message for ${kind} method`, Code.Unimplemented);
  const second = await it.next();
  if (second.done !== true) throw new ConnectError(`protocol error: received extra input message for ${kind} method`, Code.Unimplemented);
  return first.value;
}

/** Unary call through interceptors; returns the normalised output message. */
export async function invokeUnaryIntercepted(entry: MethodEntry, ctx: LazyHandlerContext, input: unknown, interceptors: Interceptor[]): Promise<unknown> {
  const impl = entry.impl!;
  const req = { stream: false as const, message: input, ...requestFields(ctx, entry) };
  const next = applyInterceptors(async (r: UnaryRequest | StreamRequest): Promise<UnaryResponse> => {
    const out = entry.normalize(await impl(r.message, contextFor(ctx, r, req)));
    return { stream: false, service: entry.service, method: entry.method as never, header: ctx.responseHeader, trailer: ctx.responseTrailer, message: out };
  }, interceptors);
  const res = (await next(req as unknown as UnaryRequest)) as UnaryResponse;
  copyHeaders(res.header, ctx.responseHeader);
  copyHeaders(res.trailer, ctx.responseTrailer);
  return res.message;
}

/**
 * Streaming call (server, client or bidi) through interceptors. Returns the output iterable; response
 * headers are copied before the first message and trailers after the last, as connect-es does.
 */
export async function* invokeStreamIntercepted(entry: MethodEntry, ctx: LazyHandlerContext, input: AsyncIterable<unknown>, interceptors: Interceptor[]): AsyncGenerator<unknown> {
  const impl = entry.impl!;
  const req = { stream: true as const, message: input, ...requestFields(ctx, entry) };
  const common = { stream: true as const, service: entry.service, method: entry.method as never, header: ctx.responseHeader, trailer: ctx.responseTrailer };
  const next = applyInterceptors(async (r: UnaryRequest | StreamRequest): Promise<StreamResponse> => {
    const hc = contextFor(ctx, r, req);
    const messages = r.message as AsyncIterable<unknown>;
    switch (entry.kind) {
      case "server_streaming":
        return { ...common, message: normalizeIterable(entry, impl(await single(messages, "server-streaming"), hc)) as AsyncIterable<never> };
      case "client_streaming": {
        const out = entry.normalize(await impl(messages, hc));
        return { ...common, message: (async function* () { yield out; })() as AsyncIterable<never> };
      }
      default:
        return { ...common, message: normalizeIterable(entry, impl(messages, hc)) as AsyncIterable<never> };
    }
  }, interceptors);
  const res = (await next(req as unknown as StreamRequest)) as StreamResponse;
  copyHeaders(res.header, ctx.responseHeader);
  yield* res.message;
  copyHeaders(res.trailer, ctx.responseTrailer);
}

/** Wraps a handler's output iterable so every item becomes a full message. */
export async function* normalizeIterable(entry: MethodEntry, source: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const item of source) yield entry.normalize(item);
}
