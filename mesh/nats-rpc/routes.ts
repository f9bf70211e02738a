// The methods served over NATS: a route holds a method's compiled codecs, its handler, and the
// interceptor chain composed once around it. The request and response objects the interceptors see
// are small classes whose lazy parts (headers, context values, signal) live on the call's context.
// All four call kinds.

import type { DescMessage, DescMethodBiDiStreaming, DescMethodClientStreaming, DescMethodServerStreaming, DescMethodUnary, DescService, MessageShape } from "@bufbuild/protobuf";
import { create, isMessage } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type HandlerContext,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { compileCodec, type MessageCodec } from "../codec/index.ts";
import type { NatsHandlerContext } from "./handler-context.ts";

type DescMessageShape = MessageShape<DescMessage>;

/** A unary handler as connect-es's service spec gives it. */
export type UnaryHandler = (req: DescMessageShape, ctx: HandlerContext) => Promise<unknown> | unknown;

/** A server-streaming handler as connect-es's service spec gives it. */
export type ServerStreamingHandler = (req: DescMessageShape, ctx: HandlerContext) => AsyncIterable<unknown>;

/** A client-streaming handler as connect-es's service spec gives it. */
export type ClientStreamingHandler = (req: AsyncIterable<DescMessageShape>, ctx: HandlerContext) => Promise<unknown>;

/** A bidi-streaming handler as connect-es's service spec gives it. */
export type BiDiStreamingHandler = (req: AsyncIterable<DescMessageShape>, ctx: HandlerContext) => AsyncIterable<unknown>;

/** A served unary method. */
export interface UnaryRoute {
  readonly kind: "unary";
  readonly method: DescMethodUnary;
  readonly input: MessageCodec<DescMessage>;
  readonly output: MessageCodec<DescMessage>;
  /** Runs the interceptors and the handler; returns the response message. */
  /**
   * Runs the interceptors and the handler. Its result (awaited if a promise) goes through `answer`,
   * which turns it into the response message: one promise per call, not one per layer.
   */
  readonly invoke: (context: NatsHandlerContext, input: DescMessageShape) => unknown;
  /** The response message of what `invoke` produced (see there). */
  readonly answer: (context: NatsHandlerContext, result: unknown) => DescMessageShape;
}

/** A served server-streaming method. */
export interface ServerStreamingRoute {
  readonly kind: "server_streaming";
  readonly method: DescMethodServerStreaming;
  readonly input: MessageCodec<DescMessage>;
  readonly output: MessageCodec<DescMessage>;
  /** Runs the interceptors and the handler; returns the messages to send. */
  readonly invoke: (context: NatsHandlerContext, input: DescMessageShape) => Promise<StreamOutput>;
}

/** A served client- or bidi-streaming method: its input arrives as control messages (stream-input.ts). */
export interface InputStreamRoute {
  readonly kind: "client_streaming" | "bidi_streaming";
  readonly method: DescMethodClientStreaming | DescMethodBiDiStreaming;
  readonly input: MessageCodec<DescMessage>;
  readonly output: MessageCodec<DescMessage>;
  /** Runs the interceptors and the handler on the caller's messages; returns the messages to send. */
  readonly invoke: (context: NatsHandlerContext, input: AsyncIterable<DescMessageShape>) => Promise<StreamOutput>;
}

/** What a streaming handler answers. */
export interface StreamOutput {
  /** The messages (or message inits) to send, pulled one at a time as credit allows. */
  readonly message: AsyncIterable<unknown>;
  /** Headers of a response an interceptor built itself, read when the first message goes (else the context's). */
  readonly header: Headers | undefined;
  /** Trailers of a response an interceptor built itself, read at the end (else the context's). */
  readonly trailer: Headers | undefined;
}

/** Where a request built by this server keeps its call's context (copied along by `{ ...req }`). */
const CALL = Symbol("weft.nats.call");

/** A message or message init as a message of `schema`. */
export function normalize(schema: DescMessage, value: unknown): DescMessageShape {
  return isMessage(value, schema) ? value : create(schema, value as never);
}

// Requests and responses are class instances: an object literal with getters costs a closure per
// accessor per call. The headers, signal and context values
// are lazy getters on the prototype, so an interceptor that copies a request with `{ ...req }` and
// changes one of them must pass it itself; the handler falls back to the call's own.
abstract class NatsRequest {
  readonly service: DescService;
  readonly requestMethod = "POST";
  readonly [CALL]: NatsHandlerContext;
  constructor(context: NatsHandlerContext) {
    this.service = context.service;
    this[CALL] = context;
  }
  get url(): string {
    return this[CALL].url;
  }
  get signal(): AbortSignal {
    return this[CALL].signal;
  }
  get header(): Headers {
    return this[CALL].requestHeader;
  }
  get contextValues(): UnaryRequest["contextValues"] {
    return this[CALL].values;
  }
}

class NatsUnaryRequest extends NatsRequest implements UnaryRequest {
  readonly stream = false as const;
  readonly method: DescMethodUnary;
  readonly message: DescMessageShape;
  constructor(context: NatsHandlerContext, message: DescMessageShape) {
    super(context);
    this.method = context.method as DescMethodUnary;
    this.message = message;
  }
}

class NatsStreamRequest extends NatsRequest implements StreamRequest {
  readonly stream = true as const;
  readonly method: DescMethodServerStreaming | DescMethodClientStreaming | DescMethodBiDiStreaming;
  readonly message: AsyncIterable<DescMessageShape>;
  constructor(context: NatsHandlerContext, input: AsyncIterable<DescMessageShape>) {
    super(context);
    this.method = context.method as DescMethodServerStreaming;
    this.message = input;
  }
}

class NatsUnaryResponse implements UnaryResponse {
  readonly stream = false as const;
  readonly service: DescService;
  readonly method: DescMethodUnary;
  readonly message: DescMessageShape;
  readonly #context: NatsHandlerContext;
  constructor(context: NatsHandlerContext, message: DescMessageShape) {
    this.service = context.service;
    this.method = context.method as DescMethodUnary;
    this.message = message;
    this.#context = context;
  }
  get header(): Headers {
    return this.#context.responseHeader;
  }
  get trailer(): Headers {
    return this.#context.responseTrailer;
  }
}

function respond(context: NatsHandlerContext, output: DescMessage, m: unknown): UnaryResponse {
  return (context.response = new NatsUnaryResponse(context, normalize(output, m)));
}

// The context a handler sees when an interceptor replaced the request: the call's, with the
// request's own headers, signal and values.
function mergedContext(c: NatsHandlerContext, req: UnaryRequest | StreamRequest): HandlerContext {
  return {
    method: c.method, service: c.service, requestMethod: c.requestMethod, protocolName: c.protocolName, url: c.url,
    timeoutMs: () => c.timeoutMs(), responseHeader: c.responseHeader, responseTrailer: c.responseTrailer,
    requestHeader: req.header ?? c.requestHeader, signal: req.signal ?? c.signal, values: req.contextValues ?? c.values,
  };
}

/** Builds the route of a unary method: codecs compiled and interceptors composed once. */
export function unaryRoute(method: DescMethodUnary, impl: UnaryHandler, interceptors: readonly Interceptor[]): UnaryRoute {
  const output = method.output;
  const codecs = { kind: "unary" as const, method, input: compileCodec(method.input), output: compileCodec(output) };
  if (interceptors.length === 0) {
    // No interceptors: the handler runs on the context directly, no request or response objects.
    return { ...codecs, invoke: (context, input) => impl(input, context), answer: (_, m) => normalize(output, m) };
  }
  const handler = (req: UnaryRequest): Promise<UnaryResponse> => {
    const context = (req as UnaryRequest & { [CALL]?: NatsHandlerContext })[CALL];
    if (context === undefined) return Promise.reject(new ConnectError("request lost its call context", Code.Internal));
    // Interceptors usually pass the request on as is; only a replaced one needs a merged context.
    const ctx = req === context.request ? context : mergedContext(context, req);
    let out;
    try {
      out = impl(req.message, ctx);
    } catch (err) {
      return Promise.reject(err); // interceptors expect a rejected promise, as from an async handler
    }
    // A closure only for an async handler: most answer at once.
    if (out instanceof Promise) return out.then((m) => respond(context, output, m));
    return Promise.resolve(respond(context, output, out));
  };
  // The first interceptor is the outermost, as in connect-es.
  let chain = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) chain = interceptors[i](chain as never) as never;
  const invoke = (context: NatsHandlerContext, input: DescMessageShape): Promise<UnaryResponse> => {
    const request = new NatsUnaryRequest(context, input);
    context.request = request;
    return chain(request);
  };
  const answer = (context: NatsHandlerContext, res: unknown): DescMessageShape => {
    const r = res as UnaryResponse;
    if (r !== context.response) {
      // An interceptor built its own response: its metadata is what goes back.
      if (r.header !== context.responseHeader) r.header.forEach((v: string, k: string) => context.responseHeader.set(k, v));
      if (r.trailer !== context.responseTrailer) r.trailer.forEach((v: string, k: string) => context.responseTrailer.set(k, v));
    }
    return r.message;
  };
  return { ...codecs, invoke, answer };
}

/** Builds the route of a server-streaming method. */
export function serverStreamingRoute(method: DescMethodServerStreaming, impl: ServerStreamingHandler, interceptors: readonly Interceptor[]): ServerStreamingRoute {
  const codecs = { kind: "server_streaming" as const, method, input: compileCodec(method.input), output: compileCodec(method.output) };
  const handler = async (req: StreamRequest): Promise<StreamResponse> => {
    const context = (req as StreamRequest & { [CALL]?: NatsHandlerContext })[CALL];
    if (context === undefined) throw new ConnectError("request lost its call context", Code.Internal);
    const ctx = req === context.request ? context : mergedContext(context, req);
    let input: DescMessageShape | undefined;
    for await (const m of req.message) {
      if (input !== undefined) throw new ConnectError("protocol error: more than one request message", Code.InvalidArgument);
      input = m;
    }
    if (input === undefined) throw new ConnectError("protocol error: missing request message", Code.InvalidArgument);
    const messages = impl(input, ctx) as AsyncIterable<DescMessageShape>;
    return { stream: true, service: method.parent, method, header: context.responseHeader, trailer: context.responseTrailer, message: messages };
  };
  let chain = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) chain = interceptors[i](chain as never) as never;
  const invoke = async (context: NatsHandlerContext, input: DescMessageShape): Promise<StreamOutput> => {
    if (interceptors.length === 0) return { message: impl(input, context), header: undefined, trailer: undefined };
    return streamThroughChain(chain, context, createAsyncIterable([input]));
  };
  return { ...codecs, invoke };
}

// Runs a stream request through the interceptor chain; an interceptor may answer with its own header
// and trailer objects: those are what go back.
async function streamThroughChain(chain: (req: StreamRequest) => Promise<StreamResponse>, context: NatsHandlerContext, input: AsyncIterable<DescMessageShape>): Promise<StreamOutput> {
  const request = new NatsStreamRequest(context, input);
  context.request = request;
  const res = await chain(request);
  const own = (h: Headers, mine: Headers | undefined) => (h === mine ? undefined : h);
  return { message: res.message, header: own(res.header, context.responseHeaderIfAny), trailer: own(res.trailer, context.responseTrailerIfAny) };
}

/** Builds the route of a client- or bidi-streaming method. */
export function inputStreamRoute(
  method: DescMethodClientStreaming | DescMethodBiDiStreaming,
  impl: ClientStreamingHandler | BiDiStreamingHandler,
  interceptors: readonly Interceptor[],
): InputStreamRoute {
  const codecs = { kind: method.methodKind, method, input: compileCodec(method.input), output: compileCodec(method.output) };
  // A client-streaming handler answers one message: sent as a stream of one.
  const messages = method.methodKind === "client_streaming"
    ? (input: AsyncIterable<DescMessageShape>, ctx: HandlerContext): AsyncIterable<unknown> => one((impl as ClientStreamingHandler)(input, ctx))
    : (impl as BiDiStreamingHandler);
  const handler = (req: StreamRequest): Promise<StreamResponse> => {
    const context = (req as StreamRequest & { [CALL]?: NatsHandlerContext })[CALL];
    if (context === undefined) return Promise.reject(new ConnectError("request lost its call context", Code.Internal));
    const ctx = req === context.request ? context : mergedContext(context, req);
    const message = messages(req.message as AsyncIterable<DescMessageShape>, ctx) as AsyncIterable<DescMessageShape>;
    return Promise.resolve({ stream: true, service: method.parent, method, header: context.responseHeader, trailer: context.responseTrailer, message } as StreamResponse);
  };
  let chain = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) chain = interceptors[i](chain as never) as never;
  const invoke = (context: NatsHandlerContext, input: AsyncIterable<DescMessageShape>): Promise<StreamOutput> => {
    if (interceptors.length === 0) return Promise.resolve({ message: messages(input, context), header: undefined, trailer: undefined });
    return streamThroughChain(chain, context, input);
  };
  return { ...codecs, invoke };
}

async function* one(answer: Promise<unknown>): AsyncGenerator<unknown> {
  yield await answer;
}
