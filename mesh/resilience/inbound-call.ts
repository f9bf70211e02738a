// Deadline propagation: a server interceptor records each inbound call's deadline and signal in async
// context, and the mesh client bounds every outbound call made while handling it by what remains, and
// cancels it with the inbound call. Like OpenTelemetry's context, this is one process-wide
// AsyncLocalStorage: it holds no state of its own, only what each call puts in its async scope.

import { AsyncLocalStorage } from "node:async_hooks";
import type { HandlerContext, Interceptor, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import type { ServerCallHooks } from "../host/call-hooks.ts";

/** The inbound call an outbound call is made for. */
export interface InboundCall {
  /** Absolute deadline (Date.now() based), or undefined when the caller set none. */
  readonly deadlineAt: number | undefined;
  /** Aborts when the inbound call ends (deadline, cancel, shutdown). */
  readonly signal: AbortSignal;
}

const inbound = new AsyncLocalStorage<InboundCall>();

/**
 * Marks a request whose server already runs the call in its inbound scope (the NATS RPC server): the
 * value is that InboundCall. Comparing it costs nothing, where comparing signals would create them.
 */
export const INBOUND_CALL = Symbol("weft.inbound-call");

/** The inbound call being handled in the current async context, if any. */
export function currentInboundCall(): InboundCall | undefined {
  return inbound.getStore();
}

/** Runs `fn` as part of handling `call` (for servers that do not use the interceptor, e.g. tests). */
export function runInInboundCall<T, A extends unknown[]>(call: InboundCall, fn: (...args: A) => T, ...args: A): T {
  return inbound.run(call, fn, ...args);
}

const GRPC_TIMEOUT_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Reads the caller's timeout (gRPC or Connect header), in milliseconds. */
export function timeoutFromHeaders(header: Headers): number | undefined {
  const grpc = header.get("grpc-timeout");
  if (grpc !== null) {
    const m = /^(\d{1,8})([HMSmun])$/.exec(grpc);
    if (m !== null) return Number(m[1]) * GRPC_TIMEOUT_UNITS[m[2]];
  }
  const connect = header.get("connect-timeout-ms");
  if (connect !== null && /^\d{1,10}$/.test(connect)) return Number(connect);
  return undefined;
}

/**
 * A server interceptor that makes the call's remaining deadline and cancellation apply to every mesh
 * client call its handler makes. Install it on HTTP/2 servers (the host); the NATS RPC server does the
 * same natively (see createNatsRpcServer's `propagateDeadlines`).
 */
export function createInboundCallInterceptor(): Interceptor {
  return (next) => (req) => {
    const current = inbound.getStore();
    // Already recorded by the server itself (NATS RPC server).
    if (current !== undefined && (req as { [INBOUND_CALL]?: InboundCall })[INBOUND_CALL] === current) return next(req);
    return inbound.run(new RequestInboundCall(req), next, req);
  };
}

// The inbound call of a request, read only if the handler makes a mesh call: reading the request's
// headers and signal up front made a lazy server (Weft's host) build both for every call, and abort
// the signal at the end of each.
class RequestInboundCall implements InboundCall {
  readonly #req: UnaryRequest | StreamRequest;
  readonly #receivedAt = Date.now();
  #deadlineAt: number | undefined | null = null;

  constructor(req: UnaryRequest | StreamRequest) {
    this.#req = req;
  }

  get deadlineAt(): number | undefined {
    if (this.#deadlineAt === null) {
      const timeoutMs = timeoutFromHeaders(this.#req.header);
      this.#deadlineAt = timeoutMs === undefined ? undefined : this.#receivedAt + timeoutMs;
    }
    return this.#deadlineAt;
  }

  get signal(): AbortSignal {
    return this.#req.signal;
  }
}

/**
 * The same as createInboundCallInterceptor, as a host call hook (`createHost({ callHooks })`): the
 * handler runs in the call's scope without putting every call on the interceptor path.
 */
export function createInboundCallHooks(): ServerCallHooks {
  return {
    scope(context, fn, ...args) {
      return inbound.run(new ContextInboundCall(context), fn, ...args);
    },
  };
}

// The inbound call of a handler context; deadline and signal are read from it only when the handler
// makes a mesh call (a lazy context builds its AbortSignal on first read).
class ContextInboundCall implements InboundCall {
  readonly #context: HandlerContext;
  #deadlineAt: number | undefined | null = null;

  constructor(context: HandlerContext) {
    this.#context = context;
  }

  get deadlineAt(): number | undefined {
    if (this.#deadlineAt === null) {
      const remaining = this.#context.timeoutMs();
      this.#deadlineAt = remaining === undefined ? undefined : Date.now() + remaining;
    }
    return this.#deadlineAt;
  }

  get signal(): AbortSignal {
    return this.#context.signal;
  }
}
