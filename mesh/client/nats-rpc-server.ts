// Connect over NATS request/reply, server side: serves unary methods of registered services on this
// instance's own subject, running the same interceptors and handler context as the HTTP/2 server.

import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethodUnary, type DescService, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
  type ServiceImpl,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import { assertSubject } from "../discovery/subjects.ts";
import { runInInboundCall } from "./inbound-call.ts";
import { NatsHandlerContext } from "./nats-handler-context.ts";
import { copyToNats, errorToNats, TIMEOUT_HEADER, TRAILER_PREFIX } from "./nats-rpc-protocol.ts";
import { WeftOptionsError } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_CLIENT_OPTIONS";

type DescMessageShape = MessageShape<DescMessage>;

function normalize(schema: DescMessage, value: unknown): DescMessageShape {
  return isMessage(value, schema) ? value : create(schema, value as never);
}

function handlerFields(c: NatsHandlerContext): HandlerContext {
  return {
    method: c.method, service: c.service, signal: c.signal, timeoutMs: c.timeoutMs, requestMethod: c.requestMethod,
    requestHeader: c.requestHeader, responseHeader: c.responseHeader, responseTrailer: c.responseTrailer,
    protocolName: c.protocolName, values: c.values, url: c.url,
  };
}

function metadataToNats(c: NatsHandlerContext): MsgHdrs | undefined {
  const { header, trailer } = c.responseMetadata;
  let out = header === undefined ? undefined : copyToNats(header, undefined);
  if (trailer !== undefined) out = copyToNats(trailer, out, TRAILER_PREFIX);
  return out;
}

/** Options of {@link createNatsRpcServer}. */
export interface NatsRpcServerOptions {
  /** The NATS connection (created once per process by `main`). */
  readonly nc: NatsConnection;
  /** This instance's own subject prefix, e.g. `weft.rpc.<instanceId>`; announce it in discovery. */
  readonly subject: string;
  /** The services to serve and their handlers. */
  readonly services: readonly { readonly service: DescService; readonly impl: Partial<ServiceImpl<DescService>> }[];
  /** Interceptors around every call, outermost first (the host's admission, load shedding, ...). */
  readonly interceptors?: readonly Interceptor[];
  /** Cap on a caller's timeout, in milliseconds (larger is capped, not refused). Default 0: no cap. */
  readonly maxTimeoutMs?: number;
  /** Largest request message accepted, in bytes. Default 4 MiB. */
  readonly readMaxBytes?: number;
  /**
   * Bound the mesh client calls a handler makes by this call's remaining deadline and cancel them with
   * it (what createInboundCallInterceptor does for HTTP/2 servers). Default true.
   */
  readonly propagateDeadlines?: boolean;
}

/** A running NATS RPC server. */
export interface NatsRpcServer {
  /** Calls being handled. */
  readonly inFlight: number;
  /** Stops taking requests, then waits for the calls in progress (at most `timeoutMs`). */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops at once; calls in progress are aborted. */
  close(): void;
}

type UnaryHandler = (req: DescMessageShape, ctx: HandlerContext) => Promise<unknown> | unknown;

interface Route {
  readonly method: DescMethodUnary;
  readonly impl: UnaryHandler;
  /** The interceptors around the handler, composed once; undefined without interceptors. */
  readonly chain: ((req: UnaryRequest) => Promise<UnaryResponse>) | undefined;
}

/** Where a request built by this server keeps its call's context (copied along by `{ ...req }`). */
const CALL = Symbol("weft.nats.call");

// Requests and responses are class instances: an object literal with getters costs a closure per
// accessor per call (5% of a NATS server's CPU in profiles). The request headers stay a lazy getter on
// the prototype (as are the context values), so an interceptor that copies a request with `{ ...req }`
// and changes it must pass `header` itself; the handler falls back to the call's own.
class NatsUnaryRequest implements UnaryRequest {
  readonly stream = false as const;
  readonly service: DescService;
  readonly method: DescMethodUnary;
  readonly requestMethod = "POST";
  readonly url: string;
  readonly signal: AbortSignal;
  readonly message: DescMessageShape;
  readonly [CALL]: NatsHandlerContext;
  constructor(context: NatsHandlerContext, message: DescMessageShape) {
    this.service = context.service;
    this.method = context.method;
    this.url = context.url;
    this.signal = context.signal;
    this.message = message;
    this[CALL] = context;
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

function unaryRoute(method: DescMethodUnary, impl: UnaryHandler, interceptors: readonly Interceptor[]): Route {
  if (interceptors.length === 0) return { method, impl, chain: undefined };
  const handler = (req: UnaryRequest): Promise<UnaryResponse> => {
    const context = (req as UnaryRequest & { [CALL]?: NatsHandlerContext })[CALL];
    if (context === undefined) return Promise.reject(new ConnectError("request lost its call context", Code.Internal));
    // Interceptors usually pass the request on as is; only a replaced one needs a merged context.
    const ctx: HandlerContext = req === context.request
      ? context
      : { ...handlerFields(context), requestHeader: req.header ?? context.requestHeader, signal: req.signal ?? context.signal, values: req.contextValues ?? context.values };
    let out;
    try {
      out = impl(req.message, ctx);
    } catch (err) {
      return Promise.reject(err); // interceptors expect a rejected promise, as from an async handler
    }
    const respond = (m: unknown): UnaryResponse => (context.response = new NatsUnaryResponse(context, normalize(method.output, m)));
    return out instanceof Promise ? out.then(respond) : Promise.resolve(respond(out));
  };
  // The first interceptor is the outermost, as in connect-es.
  let chain = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) chain = interceptors[i](chain as never) as never;
  return { method, impl, chain };
}

/** Subscribes `<subject>.>` and starts serving. */
export function createNatsRpcServer(options: NatsRpcServerOptions): NatsRpcServer {
  const nc = options.nc;
  if (nc === undefined || typeof nc.subscribe !== "function") throw new WeftOptionsError(OPTIONS, "options.nc must be a NATS connection");
  assertSubject(options.subject, "options.subject", OPTIONS);
  if (!Array.isArray(options.services) || options.services.length === 0) {
    throw new WeftOptionsError(OPTIONS, "options.services must be a non-empty array of { service, impl }");
  }
  const maxTimeoutMs = options.maxTimeoutMs ?? 0;
  const readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
  const propagateDeadlines = options.propagateDeadlines ?? true;
  const interceptors = [...(options.interceptors ?? [])];
  const routes = new Map<string, Route | "streaming">();
  for (const { service, impl } of options.services) {
    const spec = createServiceImplSpec(service, impl);
    for (const method of service.methods) {
      const key = `${service.typeName}.${method.name}`;
      const m = spec.methods[method.localName];
      if (m === undefined) continue;
      routes.set(key, m.kind === "unary" ? unaryRoute(m.method as DescMethodUnary, m.impl as Route["impl"], interceptors) : "streaming");
    }
  }
  const prefixLength = options.subject.length + 1;
  const active = new Set<NatsHandlerContext>();
  let inFlight = 0;
  let idle: (() => void) | undefined;

  function reply(msg: Msg, data: Uint8Array | undefined, headers: MsgHdrs | undefined): void {
    if (!msg.reply) return;
    try {
      msg.respond(data, headers === undefined ? undefined : { headers });
    } catch {
      // The connection closed: the caller's deadline ends its call.
    }
  }

  async function handle(msg: Msg): Promise<void> {
    const route = routes.get(msg.subject.slice(prefixLength));
    if (route === undefined || route === "streaming") {
      const message = route === undefined ? "method not found" : "streaming methods are not served over NATS";
      reply(msg, undefined, errorToNats(new ConnectError(message, Code.Unimplemented), undefined));
      return;
    }
    const h = msg.headers;
    let timeoutMs: number | undefined;
    if (h !== undefined && h.has(TIMEOUT_HEADER)) {
      const t = Number(h.get(TIMEOUT_HEADER));
      if (Number.isFinite(t) && t > 0) timeoutMs = t;
    }
    if (maxTimeoutMs > 0 && (timeoutMs === undefined || timeoutMs > maxTimeoutMs)) timeoutMs = maxTimeoutMs;
    const context = new NatsHandlerContext(route.method, `nats:${msg.subject}`, h, timeoutMs);
    active.add(context);
    inFlight++;
    try {
      if (msg.data.length > readMaxBytes) {
        throw new ConnectError(`message larger than ${readMaxBytes} bytes`, Code.ResourceExhausted);
      }
      let input;
      try {
        input = fromBinary(route.method.input, msg.data);
      } catch (cause) {
        throw new ConnectError("cannot decode the request", Code.InvalidArgument, undefined, undefined, cause);
      }
      const output = propagateDeadlines
        ? await runInInboundCall(context.inboundCall(), () => invokeUnary(route, context, input))
        : await invokeUnary(route, context, input);
      reply(msg, toBinary(route.method.output, output), metadataToNats(context));
    } catch (e) {
      const err = e instanceof ConnectError
        ? e
        : context.signal.aborted && context.signal.reason instanceof ConnectError ? context.signal.reason : new ConnectError("internal error", Code.Internal);
      reply(msg, undefined, errorToNats(err, metadataToNats(context)));
    } finally {
      context.finish();
      active.delete(context);
      inFlight--;
      if (inFlight === 0) idle?.();
    }
  }

  // Runs the interceptors and the handler, as connect-es's invokeUnaryImplementation does, without
  // copying the context for every call: the interceptor chain is composed once per method and finds
  // the call's context on the request. No async/await here: each promise hop showed up in profiles.
  function invokeUnary(route: Route, context: NatsHandlerContext, input: DescMessageShape): Promise<DescMessageShape> | DescMessageShape {
    const method = route.method;
    if (route.chain === undefined) {
      const out = route.impl(input, context);
      return out instanceof Promise ? out.then((m) => normalize(method.output, m)) : normalize(method.output, out);
    }
    const request = new NatsUnaryRequest(context, input);
    context.request = request;
    return route.chain(request).then((res) => {
      if (res !== context.response) {
        // An interceptor built its own response: its metadata is what goes back.
        if (res.header !== context.responseHeader) res.header.forEach((v: string, k: string) => context.responseHeader.set(k, v));
        if (res.trailer !== context.responseTrailer) res.trailer.forEach((v: string, k: string) => context.responseTrailer.set(k, v));
      }
      return (res as UnaryResponse).message;
    });
  }

  const sub: Subscription = nc.subscribe(`${options.subject}.>`, {
    callback: (err, msg) => {
      if (err === null) void handle(msg);
    },
  });

  return {
    get inFlight() {
      return inFlight;
    },
    async drain(timeoutMs = 30_000) {
      sub.unsubscribe();
      if (inFlight === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
    close() {
      sub.unsubscribe();
      const reason = new ConnectError("server is shutting down", Code.Unavailable);
      for (const c of active) c.abort(reason);
    },
  };
}
