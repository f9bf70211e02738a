// Deadline propagation: a server call hook records each inbound call's deadline and signal in async
// context, and the mesh client bounds every outbound call made while handling it by what remains, and
// cancels it with the inbound call. Like OpenTelemetry's context, this is one process-wide
// AsyncLocalStorage: it holds no state of its own, only what each call puts in its async scope.

import { AsyncLocalStorage } from "node:async_hooks";
import type { HandlerContext } from "@connectrpc/connect";
import type { ServerCallHooks } from "../engine/index.ts";

/** The inbound call an outbound call is made for. */
export interface InboundCall {
  /** Absolute deadline (Date.now() based), or undefined when the caller set none. */
  readonly deadlineAt: number | undefined;
  /** Aborts when the inbound call ends (deadline, cancel, shutdown). */
  readonly signal: AbortSignal;
  /** The fully-qualified service handling it, when known (mesh clients name it as the caller of their calls). */
  readonly serviceName?: string;
}

/** The request header in which a mesh client names the service it calls on behalf of (the mesh graph's edges). */
export const CALLER_HEADER = "weft-caller";

/** `header` plus the calling service of the current inbound call, if any (unchanged outside one). */
export function withCallerHeader(header: HeadersInit | undefined): HeadersInit | undefined {
  const service = inbound.getStore()?.serviceName;
  if (service === undefined) return header;
  // Most calls carry no headers of their own: a plain record spares a Headers and its sorted copy.
  if (header === undefined) return { [CALLER_HEADER]: service };
  const out = new Headers(header);
  out.set(CALLER_HEADER, service);
  return out;
}

const inbound = new AsyncLocalStorage<InboundCall>();

/** The inbound call being handled in the current async context, if any. */
export function currentInboundCall(): InboundCall | undefined {
  return inbound.getStore();
}

/** Runs `fn` as part of handling `call` (for code that serves calls without call hooks, e.g. tests). */
export function runInInboundCall<T, A extends unknown[]>(call: InboundCall, fn: (...args: A) => T, ...args: A): T {
  return inbound.run(call, fn, ...args);
}

/**
 * Deadline propagation as a server call hook (`createHost({ callHooks })`, the NATS RPC server's
 * `callHooks`): the handler runs in the call's scope, so every mesh client call it makes is bounded by
 * what remains of the call's deadline and cancelled with it.
 */
export function createInboundCallHooks(): ServerCallHooks {
  return {
    scope(context, fn, ...args) {
      // A context that already is an InboundCall (the NATS server's) is used as is: no allocation.
      const call = "deadlineAt" in context ? (context as unknown as InboundCall) : new ContextInboundCall(context);
      return inbound.run(call, fn, ...args);
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

  get serviceName(): string {
    return this.#context.service.typeName;
  }
}
