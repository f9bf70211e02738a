// One unary method served over NATS: its compiled codecs, its handler, and the interceptor chain
// composed once around it. The request and response objects the interceptors see are small classes
// whose lazy parts (headers, context values, signal) live on the call's context.

import type { DescMessage, DescMethodUnary, DescService, MessageShape } from "@bufbuild/protobuf";
import { create, isMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { compileCodec, type MessageCodec } from "../codec/index.ts";
import { INBOUND_CALL } from "./inbound-call.ts";
import type { NatsHandlerContext } from "./nats-handler-context.ts";

type DescMessageShape = MessageShape<DescMessage>;

/** A unary handler as connect-es's service spec gives it. */
export type UnaryHandler = (req: DescMessageShape, ctx: HandlerContext) => Promise<unknown> | unknown;

/** A served unary method. */
export interface UnaryRoute {
  readonly method: DescMethodUnary;
  readonly input: MessageCodec<DescMessage>;
  readonly output: MessageCodec<DescMessage>;
  /** Runs the interceptors and the handler; returns the response message. */
  readonly invoke: (context: NatsHandlerContext, input: DescMessageShape) => Promise<DescMessageShape> | DescMessageShape;
}

/** Where a request built by this server keeps its call's context (copied along by `{ ...req }`). */
const CALL = Symbol("weft.nats.call");

function normalize(schema: DescMessage, value: unknown): DescMessageShape {
  return isMessage(value, schema) ? value : create(schema, value as never);
}

// Requests and responses are class instances: an object literal with getters costs a closure per
// accessor per call (5% of a NATS server's CPU in profiles). The headers, signal and context values
// are lazy getters on the prototype, so an interceptor that copies a request with `{ ...req }` and
// changes one of them must pass it itself; the handler falls back to the call's own.
class NatsUnaryRequest implements UnaryRequest {
  readonly stream = false as const;
  readonly service: DescService;
  readonly method: DescMethodUnary;
  readonly requestMethod = "POST";
  readonly message: DescMessageShape;
  readonly [CALL]: NatsHandlerContext;
  /** Tells createInboundCallInterceptor that the server already runs the call in its inbound scope. */
  readonly [INBOUND_CALL]: NatsHandlerContext;
  constructor(context: NatsHandlerContext, message: DescMessageShape) {
    this.service = context.service;
    this.method = context.method;
    this.message = message;
    this[CALL] = context;
    this[INBOUND_CALL] = context;
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

class NatsUnaryResponse implements UnaryResponse {
  readonly stream = false as const;
  readonly service: DescService;
  readonly method: DescMethodUnary;
  readonly message: DescMessageShape;
  readonly #context: NatsHandlerContext;
  constructor(context: NatsHandlerContext, message: DescMessageShape) {
    this.service = context.service;
    this.method = context.method;
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

// The context a handler sees when an interceptor replaced the request: the call's, with the
// request's own headers, signal and values.
function mergedContext(c: NatsHandlerContext, req: UnaryRequest): HandlerContext {
  return {
    method: c.method, service: c.service, requestMethod: c.requestMethod, protocolName: c.protocolName, url: c.url,
    timeoutMs: () => c.timeoutMs(), responseHeader: c.responseHeader, responseTrailer: c.responseTrailer,
    requestHeader: req.header ?? c.requestHeader, signal: req.signal ?? c.signal, values: req.contextValues ?? c.values,
  };
}

/** Builds the route of a unary method: codecs compiled and interceptors composed once. */
export function unaryRoute(method: DescMethodUnary, impl: UnaryHandler, interceptors: readonly Interceptor[]): UnaryRoute {
  const output = method.output;
  const codecs = { method, input: compileCodec(method.input), output: compileCodec(output) };
  if (interceptors.length === 0) {
    // No interceptors: the handler runs on the context directly, no request or response objects.
    const invoke = (context: NatsHandlerContext, input: DescMessageShape) => {
      const out = impl(input, context);
      return out instanceof Promise ? out.then((m) => normalize(output, m)) : normalize(output, out);
    };
    return { ...codecs, invoke };
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
    const respond = (m: unknown): UnaryResponse => (context.response = new NatsUnaryResponse(context, normalize(output, m)));
    return out instanceof Promise ? out.then(respond) : Promise.resolve(respond(out));
  };
  // The first interceptor is the outermost, as in connect-es.
  let chain = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) chain = interceptors[i](chain as never) as never;
  const invoke = (context: NatsHandlerContext, input: DescMessageShape): Promise<DescMessageShape> => {
    const request = new NatsUnaryRequest(context, input);
    context.request = request;
    return chain(request).then((res) => {
      if (res !== context.response) {
        // An interceptor built its own response: its metadata is what goes back.
        if (res.header !== context.responseHeader) res.header.forEach((v: string, k: string) => context.responseHeader.set(k, v));
        if (res.trailer !== context.responseTrailer) res.trailer.forEach((v: string, k: string) => context.responseTrailer.set(k, v));
      }
      return res.message;
    });
  };
  return { ...codecs, invoke };
}
