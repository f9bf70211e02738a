// Connect over NATS request/reply, server side: serves unary methods of registered services on this
// instance's own subject, running the same interceptors and handler context as the HTTP/2 server.

import { fromBinary, toBinary, type DescMethodUnary, type DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createHandlerContext,
  createServiceImplSpec,
  type Interceptor,
  type MethodImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";
import { invokeUnaryImplementation } from "@connectrpc/connect/protocol";
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import { assertSubject } from "../discovery/subjects.ts";
import { copyToNats, errorToNats, TIMEOUT_HEADER, TRAILER_PREFIX } from "./nats-rpc-protocol.ts";

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

interface Route {
  readonly method: DescMethodUnary;
  readonly spec: MethodImplSpec & { kind: "unary" };
}

/** Subscribes `<subject>.>` and starts serving. */
export function createNatsRpcServer(options: NatsRpcServerOptions): NatsRpcServer {
  const nc = options.nc;
  if (nc === undefined || typeof nc.subscribe !== "function") throw new TypeError("options.nc must be a NATS connection");
  assertSubject(options.subject, "options.subject");
  if (!Array.isArray(options.services) || options.services.length === 0) {
    throw new TypeError("options.services must be a non-empty array of { service, impl }");
  }
  const maxTimeoutMs = options.maxTimeoutMs ?? 0;
  const readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
  const interceptors = [...(options.interceptors ?? [])];
  const routes = new Map<string, Route | "streaming">();
  for (const { service, impl } of options.services) {
    const spec = createServiceImplSpec(service, impl);
    for (const method of service.methods) {
      const key = `${service.typeName}.${method.name}`;
      const m = spec.methods[method.localName];
      if (m === undefined) continue;
      routes.set(key, m.kind === "unary" ? { method: m.method as DescMethodUnary, spec: m as Route["spec"] } : "streaming");
    }
  }
  const prefixLength = options.subject.length + 1;
  const shutdown = new AbortController();
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
    const requestHeader = new Headers();
    if (h !== undefined) {
      for (const [key, values] of h) for (const v of values) requestHeader.append(key, v);
      const t = h.has(TIMEOUT_HEADER) ? Number(h.get(TIMEOUT_HEADER)) : NaN;
      if (Number.isFinite(t) && t > 0) timeoutMs = t;
    }
    if (maxTimeoutMs > 0 && (timeoutMs === undefined || timeoutMs > maxTimeoutMs)) timeoutMs = maxTimeoutMs;
    const context = createHandlerContext({
      service: route.method.parent,
      method: route.method,
      protocolName: "nats",
      requestMethod: "POST",
      url: `nats:${msg.subject}`,
      timeoutMs,
      shutdownSignal: shutdown.signal,
      requestHeader,
      contextValues: createContextValues(),
    });
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
      const output = await invokeUnaryImplementation(route.spec, context, input, interceptors);
      let out = copyToNats(context.responseHeader, undefined);
      out = copyToNats(context.responseTrailer, out, TRAILER_PREFIX);
      reply(msg, toBinary(route.method.output, output), out);
    } catch (e) {
      const err = context.signal.aborted && context.signal.reason instanceof ConnectError && !(e instanceof ConnectError)
        ? context.signal.reason
        : e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal);
      let out = copyToNats(context.responseHeader, undefined);
      out = copyToNats(context.responseTrailer, out, TRAILER_PREFIX);
      reply(msg, undefined, errorToNats(err, out));
    } finally {
      context.abort(); // releases the deadline timer
      inFlight--;
      if (inFlight === 0) idle?.();
    }
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
      shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
    },
  };
}
