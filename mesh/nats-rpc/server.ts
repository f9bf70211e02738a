// Connect over NATS request/reply, server side: serves unary and server-streaming methods of
// registered services on this instance's own subject, running the same call hooks (begin, defer,
// scope, end: admission, shedding, deadline propagation) and interceptors as the host. Client and bidi streaming answer UNIMPLEMENTED over NATS.
// The request callback does its work synchronously up to the handler and answers from the handler's
// promise (or at once when it returns a message): no async function per call, as each await showed
// up in profiles.

import type { DescMethodServerStreaming, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createServiceImplSpec, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { assertSubject } from "../discovery/index.ts";
import { assertInt, WeftOptionsError } from "../errors/index.ts";
import { composeCallHooks, INTERNAL_ERROR_MESSAGE, type ComposedCallHooks, type ServerCallHooks } from "../engine/index.ts";
import { NatsHandlerContext } from "./handler-context.ts";
import { encodeErrorReply, encodeReply, parseRequest, type RequestEnvelope } from "./envelope.ts";
import {
  serverStreamingRoute,
  unaryRoute,
  type ServerStreamingHandler,
  type ServerStreamingRoute,
  type UnaryHandler,
  type UnaryRoute,
} from "./routes.ts";
import { CONTROL_TOKEN, parseControl } from "./stream-control.ts";
import { ServerStream } from "./stream-server.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_CLIENT_OPTIONS";

/** Queue group of every instance subscription. */
const QUEUE_GROUP = "weft-rpc";

/** Options of {@link createNatsRpcServer}. */
export interface NatsRpcServerOptions {
  /** The NATS connection (created once per process by `main`). */
  readonly nc: NatsConnection;
  /** This instance's own subject prefix, e.g. `weft.rpc.<instanceId>`; announce it in discovery. */
  readonly subject: string;
  /** The services to serve and their handlers. */
  readonly services: readonly { readonly service: DescService; readonly impl: Partial<ServiceImpl<DescService>> }[];
  /**
   * Call hooks around every call, as the host's `callHooks` (mesh/engine): begun once the request is
   * decoded (a throw refuses the call), deferred, scoped and ended as on HTTP. Default [].
   */
  readonly callHooks?: readonly ServerCallHooks[];
  /** Interceptors around every call, inside the hooks, outermost first. Default []. */
  readonly interceptors?: readonly Interceptor[];
  /** Cap on a caller's timeout, in milliseconds (larger is capped, not refused). Default 0: no cap. */
  readonly maxTimeoutMs?: number;
  /** Largest request message accepted, in bytes. Default 4 MiB. */
  readonly readMaxBytes?: number;
  /**
   * How long a server stream waits for the caller to grant credit before giving up on it (a caller
   * that died silently never does), in milliseconds. Default 30000.
   */
  readonly streamIdleTimeoutMs?: number;
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
  const hooks: ComposedCallHooks | undefined = composeCallHooks(options.callHooks ?? [], new Set());
  const streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 30_000;
  assertInt(OPTIONS, streamIdleTimeoutMs, "options.streamIdleTimeoutMs", 1);
  const interceptors = [...(options.interceptors ?? [])];
  const routes = new Map<string, UnaryRoute | ServerStreamingRoute | "unsupported">();
  for (const { service, impl } of options.services) {
    const spec = createServiceImplSpec(service, impl);
    for (const method of service.methods) {
      const m = spec.methods[method.localName];
      if (m === undefined) continue;
      const route = m.kind === "unary"
        ? unaryRoute(m.method as DescMethodUnary, m.impl as UnaryHandler, interceptors)
        : m.kind === "server_streaming"
          ? serverStreamingRoute(m.method as DescMethodServerStreaming, m.impl as ServerStreamingHandler, interceptors)
          : "unsupported";
      routes.set(`${service.typeName}.${method.name}`, route);
    }
  }
  const prefixLength = options.subject.length + 1;
  const active = new Set<NatsHandlerContext>();
  // Server streams by reply subject, which is how the caller's control messages name them.
  const streams = new Map<string, ServerStream>();
  let idle: (() => void) | undefined;

  function send(reply: string, data: Uint8Array): void {
    try {
      nc.publish(reply, data);
    } catch {
      // The connection closed: the caller's deadline ends its call.
    }
  }

  function refuse(reply: string, callId: number, err: ConnectError): void {
    if (reply !== "") send(reply, encodeErrorReply(callId, undefined, undefined, err));
  }

  function onRequest(msg: Msg): void {
    // Everything the reply needs is read now: a Msg is only guaranteed during its callback.
    const subject = msg.subject;
    const reply = msg.reply ?? "";
    const key = subject.slice(prefixLength);
    if (key === CONTROL_TOKEN) {
      onControl(msg.data);
      return;
    }
    let envelope: RequestEnvelope;
    try {
      envelope = parseRequest(msg.data);
    } catch (cause) {
      refuse(reply, 0, new ConnectError("malformed request envelope", Code.InvalidArgument, undefined, undefined, cause));
      return;
    }
    const route = routes.get(key);
    if (route === undefined || route === "unsupported") {
      const message = route === undefined ? "method not found" : "client and bidi streaming methods are not served over NATS";
      refuse(reply, envelope.callId, new ConnectError(message, Code.Unimplemented));
      return;
    }
    const streaming = route.kind === "server_streaming";
    if (streaming !== (envelope.window !== undefined)) {
      refuse(reply, envelope.callId, new ConnectError(`a ${streaming ? "server-streaming" : "unary"} method called as ${streaming ? "unary" : "a stream"}`, Code.Unimplemented));
      return;
    }
    let timeoutMs = envelope.timeoutMs !== undefined && envelope.timeoutMs > 0 ? envelope.timeoutMs : undefined;
    if (maxTimeoutMs > 0 && (timeoutMs === undefined || timeoutMs > maxTimeoutMs)) timeoutMs = maxTimeoutMs;
    const context = new NatsHandlerContext(route.method, subject, envelope.metadata, timeoutMs);
    const callId = envelope.callId;
    active.add(context);
    let input;
    try {
      if (envelope.body.length > readMaxBytes) {
        throw new ConnectError(`message larger than ${readMaxBytes} bytes`, Code.ResourceExhausted);
      }
      try {
        input = route.input.fromBinary(envelope.body);
      } catch (cause) {
        throw new ConnectError("cannot decode the request", Code.InvalidArgument, undefined, undefined, cause);
      }
      if (hooks !== undefined) context.hookTokens = hooks.begin(route.method.parent, context);
    } catch (err) {
      fail(context, reply, callId, err);
      return;
    }
    const admitting = context.hookTokens === undefined ? undefined : hooks!.admit(context.hookTokens, context);
    if (admitting !== undefined) {
      admitting.then(() => start(context, route, reply, callId, input, envelope.window), (err: unknown) => fail(context, reply, callId, err));
      return;
    }
    if (context.hookTokens !== undefined && hooks!.defers(context.hookTokens)) {
      setImmediate(start, context, route, reply, callId, input, envelope.window);
      return;
    }
    start(context, route, reply, callId, input, envelope.window);
  }

  /** Runs an admitted call: interceptors and handler, inside the hooks' scope. */
  function start(context: NatsHandlerContext, route: UnaryRoute | ServerStreamingRoute, reply: string, callId: number, input: unknown, window: number | undefined): void {
    if (route.kind === "server_streaming") {
      startStream(context, route, reply, callId, input, window!);
      return;
    }
    let out;
    try {
      out = context.hookTokens !== undefined && hooks!.scoped ? hooks!.scope(context, route.invoke, context, input as never) : route.invoke(context, input as never);
    } catch (err) {
      fail(context, reply, callId, err);
      return;
    }
    if (out instanceof Promise) {
      out.then(
        (message) => succeed(context, route, reply, callId, message),
        (err: unknown) => fail(context, reply, callId, err),
      );
    } else {
      succeed(context, route, reply, callId, out);
    }
  }

  function succeed(context: NatsHandlerContext, route: UnaryRoute, reply: string, callId: number, result: unknown): void {
    let data: Uint8Array;
    try {
      const message = route.answer(context, result);
      data = encodeReply(callId, context.responseHeaderIfAny, context.responseTrailerIfAny, route.output.toBinary(message));
    } catch (cause) {
      fail(context, reply, callId, new ConnectError("cannot encode the response", Code.Internal, undefined, undefined, cause));
      return;
    }
    end(context, undefined);
    if (reply !== "") send(reply, data);
  }

  function fail(context: NatsHandlerContext, reply: string, callId: number, e: unknown): void {
    const reason = context.abortReason;
    const err = e instanceof ConnectError ? e : reason instanceof ConnectError ? reason : new ConnectError(INTERNAL_ERROR_MESSAGE, Code.Internal);
    end(context, err);
    if (reply === "") return;
    let data: Uint8Array;
    try {
      data = encodeErrorReply(callId, context.responseHeaderIfAny, context.responseTrailerIfAny, err);
    } catch {
      // A detail that cannot be serialised: the code and message still go back.
      data = encodeErrorReply(callId, undefined, undefined, new ConnectError(err.rawMessage, err.code));
    }
    send(reply, data);
  }

  function startStream(context: NatsHandlerContext, route: ServerStreamingRoute, reply: string, callId: number, input: unknown, window: number): void {
    if (reply === "") {
      end(context, undefined); // nowhere to send the messages
      return;
    }
    const stream = new ServerStream(context, callId, window);
    streams.set(reply, stream);
    const run = () => stream.run(route, input as never, (data) => send(reply, data), streamIdleTimeoutMs);
    let done: Promise<ConnectError | undefined>;
    try {
      done = context.hookTokens !== undefined && hooks!.scoped ? hooks!.scope(context, run) : run();
    } catch (err) {
      done = Promise.resolve(ConnectError.from(err));
    }
    void done.then((err) => {
      if (streams.get(reply) === stream) streams.delete(reply);
      end(context, err);
    });
  }

  function onControl(data: Uint8Array): void {
    let control;
    try {
      control = parseControl(data);
    } catch {
      return; // not a control message this server understands: nothing to answer to
    }
    const stream = streams.get(control.stream);
    if (stream === undefined || stream.callId !== control.callId) return; // ended already
    if (control.kind === "credit") stream.grant(control.messages);
    else stream.cancel();
  }

  function end(context: NatsHandlerContext, err: ConnectError | undefined): void {
    const tokens = context.hookTokens;
    if (tokens !== undefined) {
      context.hookTokens = undefined;
      hooks!.end(tokens, err);
    }
    context.finish();
    active.delete(context);
    if (active.size === 0) idle?.();
  }

  // A queue group: should two processes ever share an instance subject, each request still gets one
  // handler and one reply (the client reuses reply subjects, see reply-slots.ts).
  const sub: Subscription = nc.subscribe(`${options.subject}.>`, {
    queue: QUEUE_GROUP,
    callback: (err, msg) => {
      if (err === null) onRequest(msg);
    },
  });

  return {
    get inFlight() {
      return active.size;
    },
    async drain(timeoutMs = 30_000) {
      // drain, not unsubscribe: requests already delivered to this connection are still answered
      // (refused while draining, so callers retry elsewhere) instead of dropped to time out.
      await sub.drain().catch(() => sub.unsubscribe());
      if (active.size === 0) return;
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
