// Connect over NATS request/reply, server side: serves the methods of registered services (all four
// call kinds) on this instance's own subject, running the same call hooks (begin, defer, scope, end:
// admission, shedding, deadline propagation) and interceptors as the host.
// The request callback does its work synchronously up to the handler and answers from the handler's
// promise (or at once when it returns a message): no async function per call, as each await showed
// up in profiles.

import type { DescMethodBiDiStreaming, DescMethodClientStreaming, DescMethodServerStreaming, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createServiceImplSpec, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import type { Msg, NatsConnection, Status, Subscription } from "@nats-io/transport-node";
import { assertSubject } from "../discovery/index.ts";
import { assertInt, WeftOptionsError } from "../errors/index.ts";
import { composeCallHooks, INTERNAL_ERROR_MESSAGE, type ComposedCallHooks, type ServerCallHooks } from "../engine/index.ts";
import { NatsHandlerContext } from "./handler-context.ts";
import { encodeCreditReply, encodeErrorReply, encodeReply, parseRequest, type RequestEnvelope } from "./envelope.ts";
import {
  inputStreamRoute,
  serverStreamingRoute,
  unaryRoute,
  type BiDiStreamingHandler,
  type ClientStreamingHandler,
  type InputStreamRoute,
  type ServerStreamingHandler,
  type ServerStreamingRoute,
  type UnaryHandler,
  type UnaryRoute,
} from "./routes.ts";
import { CONTROL_TOKEN, parseControl } from "./stream-control.ts";
import { StreamInput } from "./stream-input.ts";
import { ServerStream } from "./stream-server.ts";

type Route = UnaryRoute | ServerStreamingRoute | InputStreamRoute;

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_CLIENT_OPTIONS";

/** Caller tokens whose identity and inbox a server remembers. */
const MAX_CACHED_CALLERS = 1024;

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
   * How long a stream waits for the caller to grant credit, or for the next message its handler
   * waits for, before giving up on it (a caller that died silently never sends either), in
   * milliseconds. Default 30000.
   */
  readonly streamIdleTimeoutMs?: number;
  /**
   * Callers the broker vouches for. Each request subject carries its caller's token
   * (`<subject>.<caller>.<package.Service>.<Method>`); with these, the broker's permissions (generated
   * from the policies, mesh/security `natsPermissions`) let a NATS user publish only with its own token
   * and read only its own inbox, so the token becomes the call's peer identity, and a request whose
   * reply subject lies outside that caller's inbox is dropped unanswered (its handler never runs).
   * Default: none, every caller is anonymous and the token is ignored.
   */
  readonly verifiedCallers?: VerifiedCallers;
  /**
   * Messages the caller of a client or bidi stream may send ahead of its handler (the most this
   * server holds per stream). Default 32.
   */
  readonly streamWindow?: number;
}

/** How a server maps the broker-verified caller token of a request (see NatsRpcServerOptions.verifiedCallers). */
export interface VerifiedCallers {
  /** The caller's identity (a SPIFFE URI), or undefined for a token naming no workload (anonymous). */
  identityOf(caller: string): string | undefined;
  /** The caller's inbox prefix (the nats.js `inboxPrefix` its connection uses), e.g. `_INBOX.orders`. */
  inboxPrefixOf(caller: string): string;
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
  const streamWindow = options.streamWindow ?? 32;
  assertInt(OPTIONS, streamWindow, "options.streamWindow", 1);
  const interceptors = [...(options.interceptors ?? [])];
  const routes = new Map<string, Route>();
  for (const { service, impl } of options.services) {
    const spec = createServiceImplSpec(service, impl);
    for (const method of service.methods) {
      const m = spec.methods[method.localName];
      if (m === undefined) continue;
      const route = m.kind === "unary"
        ? unaryRoute(m.method as DescMethodUnary, m.impl as UnaryHandler, interceptors)
        : m.kind === "server_streaming"
          ? serverStreamingRoute(m.method as DescMethodServerStreaming, m.impl as ServerStreamingHandler, interceptors)
          : inputStreamRoute(m.method as DescMethodClientStreaming | DescMethodBiDiStreaming, m.impl as ClientStreamingHandler | BiDiStreamingHandler, interceptors);
      routes.set(`${service.typeName}.${method.name}`, route);
    }
  }
  const prefixLength = options.subject.length + 1;
  const verified = options.verifiedCallers;
  // The callers' identities and inbox prefixes, looked up once per caller token.
  const callers = new Map<string, { readonly identity: string | undefined; readonly inbox: string }>();
  const callerOf = (token: string) => {
    let c = callers.get(token);
    if (c === undefined) {
      c = { identity: verified!.identityOf(token), inbox: `${verified!.inboxPrefixOf(token)}.` };
      if (callers.size < MAX_CACHED_CALLERS) callers.set(token, c); // bounded: tokens come from the network
    }
    return c;
  };
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
    const dot = subject.indexOf(".", prefixLength);
    if (dot < 0) return; // no caller token: not a request of this protocol version
    const key = subject.slice(dot + 1);
    let peer: string | undefined;
    if (verified !== undefined) {
      const caller = callerOf(subject.slice(prefixLength, dot));
      // The reply subject is the one part the broker does not check: a reply outside the caller's own
      // inbox would hand this call's answer (or a forged one) to another workload.
      if (key === CONTROL_TOKEN) {
        onControl(msg.data, caller.inbox);
        return;
      }
      if (!reply.startsWith(caller.inbox)) return;
      peer = caller.identity;
    } else if (key === CONTROL_TOKEN) {
      onControl(msg.data, "");
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
    if (route === undefined) {
      refuse(reply, envelope.callId, new ConnectError("method not found", Code.Unimplemented));
      return;
    }
    const calledAs = envelope.clientStream ? "a client stream" : envelope.window !== undefined ? "a server stream" : "unary";
    const servedAs = route.kind === "unary" ? "unary" : route.kind === "server_streaming" ? "a server stream" : "a client stream";
    if (calledAs !== servedAs) {
      refuse(reply, envelope.callId, new ConnectError(`a ${route.kind.replace("_", "-")} method called as ${calledAs}`, Code.Unimplemented));
      return;
    }
    let timeoutMs = envelope.timeoutMs !== undefined && envelope.timeoutMs > 0 ? envelope.timeoutMs : undefined;
    if (maxTimeoutMs > 0 && (timeoutMs === undefined || timeoutMs > maxTimeoutMs)) timeoutMs = maxTimeoutMs;
    const context = new NatsHandlerContext(route.method, subject, envelope.metadata, timeoutMs);
    if (peer !== undefined) context.peerIdentity = peer;
    const callId = envelope.callId;
    active.add(context);
    let input: unknown;
    try {
      if (envelope.body.length > readMaxBytes) {
        throw new ConnectError(`message larger than ${readMaxBytes} bytes`, Code.ResourceExhausted);
      }
      // A client or bidi stream's messages come later, as control messages.
      if (!envelope.clientStream) {
        try {
          input = route.input.fromBinary(envelope.body);
        } catch (cause) {
          throw new ConnectError("cannot decode the request", Code.InvalidArgument, undefined, undefined, cause);
        }
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
  function start(context: NatsHandlerContext, route: Route, reply: string, callId: number, input: unknown, window: number | undefined): void {
    if (route.kind !== "unary") {
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

  function startStream(context: NatsHandlerContext, route: ServerStreamingRoute | InputStreamRoute, reply: string, callId: number, input: unknown, window: number): void {
    if (reply === "") {
      end(context, undefined); // nowhere to send the messages
      return;
    }
    const stream = new ServerStream(context, callId, window);
    streams.set(reply, stream);
    if (route.kind !== "server_streaming") {
      stream.input = new StreamInput(route.input, streamWindow, readMaxBytes, streamIdleTimeoutMs, {
        credit: (messages) => send(reply, encodeCreditReply(callId, messages)),
        fail: (err) => context.abort(err),
      });
      input = stream.input;
      send(reply, encodeCreditReply(callId, streamWindow)); // the caller sends nothing before this
    }
    const run = () => stream.run(route, input, (data) => send(reply, data), streamIdleTimeoutMs);
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

  /** A credit or cancel for a stream; `inbox`: the prefix its reply subject must have (the sender's own). */
  function onControl(data: Uint8Array, inbox: string): void {
    let control;
    try {
      control = parseControl(data);
    } catch {
      return; // not a control message this server understands: nothing to answer to
    }
    if (!control.stream.startsWith(inbox)) return; // another caller's stream
    const stream = streams.get(control.stream);
    if (stream === undefined || stream.callId !== control.callId) return; // ended already
    if (control.kind === "credit") stream.grant(control.messages);
    else if (control.kind === "message") stream.input?.push(control.seq, control.body);
    else if (control.kind === "end") stream.input?.end(control.count);
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

  // The callers of streams in progress fail them when NATS goes (the mesh client's fallback): stop their
  // handlers now rather than after streamIdleTimeoutMs.
  const statuses = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  void (async () => {
    for await (const s of statuses) {
      if (s.type !== "disconnect" && s.type !== "close") continue;
      const lost = new ConnectError("the NATS connection was lost during the call", Code.Unavailable);
      for (const stream of streams.values()) stream.context.abort(lost);
    }
  })().catch(() => undefined);

  return {
    get inFlight() {
      return active.size;
    },
    async drain(timeoutMs = 30_000) {
      // drain, not unsubscribe: requests already delivered to this connection are still answered
      // (refused while draining, so callers retry elsewhere) instead of dropped to time out.
      await sub.drain().catch(() => sub.unsubscribe());
      statuses.stop?.();
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
      statuses.stop?.();
      sub.unsubscribe();
      const reason = new ConnectError("server is shutting down", Code.Unavailable);
      for (const c of active) c.abort(reason);
    },
  };
}
