// Runs a handler through connect-es interceptors, with the same request/response shapes and the same
// header copying as connect-es's invoke-implementation, so interceptors written for connect-node work
// unchanged. Only used when interceptors are configured; the engine calls handlers directly otherwise.
//
// The interceptor chain is built once per method (not per call): the call's context travels inside
// the request object under a symbol key, which survives the `{...req}` copies interceptors make.

import { Code, ConnectError } from "@connectrpc/connect";
import type { HandlerContext, Interceptor, StreamRequest, StreamResponse, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import type { LazyHandlerContext } from "./handler-context.ts";
import type { MethodEntry } from "./method-table.ts";

const kCtx = Symbol("weft.handlerContext");

type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;
type WithCtx = { [kCtx]: LazyHandlerContext };

/** connect-es semantics: the first interceptor in the list is the outermost. */
function applyInterceptors(next: AnyFn, interceptors: readonly Interceptor[]): AnyFn {
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i](next as never) as AnyFn;
  return next;
}

/**
 * The request interceptors see. Getters keep the signal and Headers lazy until someone reads them;
 * object-literal getters are own enumerable properties, so `{...req}` still copies them.
 */
function makeRequest(ctx: LazyHandlerContext, entry: MethodEntry, stream: boolean, message: unknown): UnaryRequest | StreamRequest {
  return {
    [kCtx]: ctx,
    stream,
    message,
    service: entry.service,
    method: entry.method,
    requestMethod: ctx.requestMethod,
    get url() { return ctx.url; },
    get signal() { return ctx.signal; },
    get header() { return ctx.requestHeader; },
    get contextValues() { return ctx.values; },
  } as unknown as UnaryRequest | StreamRequest;
}

/** The context a handler sees: the call's own, unless an interceptor replaced header, signal or values. */
function contextFor(ctx: LazyHandlerContext, r: UnaryRequest | StreamRequest): HandlerContext {
  // The request we built reached the handler unchanged: nothing was replaced.
  if (r === ctx.interceptedRequest) return ctx;
  return {
    method: ctx.method,
    service: r.service,
    protocolName: ctx.protocolName,
    requestMethod: ctx.requestMethod,
    url: ctx.url,
    signal: r.signal ?? ctx.signal,
    requestHeader: r.header ?? ctx.requestHeader,
    responseHeader: ctx.responseHeader,
    responseTrailer: ctx.responseTrailer,
    values: r.contextValues ?? ctx.values,
    timeoutMs: () => ctx.timeoutMs(),
  };
}

function copyHeaders(from: Headers | undefined, to: Headers): void {
  if (from === undefined || from === to) return;
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

/** Wraps a handler's output iterable so every item becomes a full message. */
export async function* normalizeIterable(entry: MethodEntry, source: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const item of source) yield entry.normalize(item);
}

function unaryInner(entry: MethodEntry): AnyFn {
  const impl = entry.impl!;
  return async (r) => {
    const ctx = (r as unknown as WithCtx)[kCtx];
    const out = entry.normalize(await impl(r.message, contextFor(ctx, r)));
    const res = {
      stream: false,
      service: entry.service,
      method: entry.method,
      message: out,
      get header() { return ctx.responseHeader; },
      get trailer() { return ctx.responseTrailer; },
    } as UnaryResponse;
    ctx.innerResponse = res;
    return res;
  };
}

function streamInner(entry: MethodEntry): AnyFn {
  const impl = entry.impl!;
  return async (r) => {
    const ctx = (r as unknown as WithCtx)[kCtx];
    const hc = contextFor(ctx, r);
    const messages = r.message as AsyncIterable<unknown>;
    const common = { stream: true as const, service: entry.service, method: entry.method as never, header: ctx.responseHeader, trailer: ctx.responseTrailer };
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
  };
}

/** Runs calls through a fixed interceptor list; chains are built on a method's first call. */
export class Invoker {
  readonly #interceptors: readonly Interceptor[];
  readonly #unary = new WeakMap<MethodEntry, AnyFn>();
  readonly #stream = new WeakMap<MethodEntry, AnyFn>();

  constructor(interceptors: readonly Interceptor[]) {
    this.#interceptors = interceptors;
  }

  /** Unary call; resolves to the normalised output message. */
  async unary(entry: MethodEntry, ctx: LazyHandlerContext, input: unknown): Promise<unknown> {
    let chain = this.#unary.get(entry);
    if (chain === undefined) this.#unary.set(entry, (chain = applyInterceptors(unaryInner(entry), this.#interceptors)));
    const req = makeRequest(ctx, entry, false, input);
    ctx.interceptedRequest = req;
    const res = (await chain(req)) as UnaryResponse;
    if (res !== ctx.innerResponse) {
      // An interceptor returned its own response object: take its headers and trailers.
      copyHeaders(res.header, ctx.responseHeader);
      copyHeaders(res.trailer, ctx.responseTrailer);
    }
    return res.message;
  }

  /**
   * Streaming call (server, client or bidi). Returns the output iterable; response headers are copied
   * before the first message and trailers after the last, as connect-es does.
   */
  async *stream(entry: MethodEntry, ctx: LazyHandlerContext, input: AsyncIterable<unknown>): AsyncGenerator<unknown> {
    let chain = this.#stream.get(entry);
    if (chain === undefined) this.#stream.set(entry, (chain = applyInterceptors(streamInner(entry), this.#interceptors)));
    const req = makeRequest(ctx, entry, true, input);
    ctx.interceptedRequest = req;
    const res = (await chain(req)) as StreamResponse;
    copyHeaders(res.header, ctx.responseHeader);
    yield* res.message;
    copyHeaders(res.trailer, ctx.responseTrailer);
  }
}
