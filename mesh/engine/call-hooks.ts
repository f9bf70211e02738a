// Server call hooks: a synchronous, allocation-free alternative to interceptors for cross-cutting
// server behaviour that needs no request or response object: admission (load shedding), accounting,
// and running the handler inside an async-context scope (deadline propagation). The engine calls them
// directly where the host's gate admits and releases a call, so a server with hooks stays on the
// engine's direct path; an interceptor moves every call onto the general interceptor path (request and
// response objects, async frames), which costs several microseconds per call.

import type { DescService } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import { parseTimeoutHeader } from "./timeout.ts";

/**
 * What a hook sees of a call: connect-es's HandlerContext (`service`, `method`, `protocolName` — "grpc",
 * "grpc-web", "connect", "nats" or "in-process" —, `requestHeader`, `responseHeader` and
 * `responseTrailer` to add to the answer, `signal`, `timeoutMs()`, `values`) and the caller's address
 * when the transport knows one. Reading a lazy part (headers, signal) creates it: read what you need.
 */
export interface CallHookContext extends HandlerContext {
  /** The caller's IP address ("127.0.0.1", "::1"), or undefined when unknown (NATS, in-process). */
  readonly peerAddress?: string | undefined;
}

/** Hooks around every counted call (the host's own health, reflection and admin calls are not hooked). */
export interface ServerCallHooks {
  /**
   * Runs when the call is admitted, before interceptors and the handler. Throw a ConnectError to refuse
   * the call (the handler never runs; `end` is not called). The return value is handed to `end`.
   */
  begin?(service: DescService, context: CallHookContext): unknown;
  /** Runs exactly once for every call `begin` admitted, when it is over; `error` is undefined on success. */
  end?(token: unknown, error: ConnectError | undefined): void;
  /** Runs `fn(...args)` (interceptors and handler) inside a scope, e.g. `AsyncLocalStorage.run`. */
  scope?<A extends unknown[], R>(context: CallHookContext, fn: (...args: A) => R, ...args: A): R;
  /**
   * True to start this admitted call (interceptors and handler) after the current event-loop turn's I/O
   * (setImmediate) rather than at once: load shedding uses it so that a turn's refusals are written
   * before the turn's work runs. Engines that cannot defer start the call at once.
   */
  defer?(token: unknown): boolean;
  /**
   * Admission that needs I/O (a rate limit shared through Redis): runs after every `begin`; a returned
   * promise holds the call until it settles, and a rejection refuses the call with that error (`end`
   * is called with it). Return undefined to admit at once.
   */
  admit?(token: unknown, context: CallHookContext): PromiseLike<void> | undefined;
}

/** The hooks of a host, composed into one: begins in order, ends in reverse, scopes nested (first outermost). */
export interface ComposedCallHooks {
  /** Begins every hook; if one refuses, the ones already begun end with its error, then it throws. */
  begin(service: DescService, context: CallHookContext): unknown[];
  end(tokens: unknown[], error: ConnectError | undefined): void;
  scope<A extends unknown[], R>(context: CallHookContext, fn: (...args: A) => R, ...args: A): R;
  /** True when some hook has a scope (engines skip `scope` otherwise). */
  readonly scoped: boolean;
  /** True when some hook asks for this call to start after the current turn's I/O. */
  defers(tokens: unknown[]): boolean;
  /** The hooks' asynchronous admission, or undefined when every hook admits at once (see ServerCallHooks.admit). */
  admit(tokens: unknown[], context: CallHookContext): Promise<void> | undefined;
  /** Services whose calls are never hooked (the host's health, reflection and admin). */
  readonly exempt: ReadonlySet<string>;
}

/** Composes `hooks`, or returns undefined when there are none (engines then skip hooks entirely). */
export function composeCallHooks(hooks: readonly ServerCallHooks[], exempt: ReadonlySet<string>): ComposedCallHooks | undefined {
  if (hooks.length === 0) return undefined;
  const list = [...hooks];
  const scopes = list.filter((h) => h.scope !== undefined);
  const admitters = list.flatMap((h, i) => (h.admit === undefined ? [] : [i]));
  const end = (tokens: unknown[], error: ConnectError | undefined, count: number) => {
    for (let i = count - 1; i >= 0; i--) list[i].end?.(tokens[i], error);
  };
  return {
    begin(service, context) {
      const tokens = new Array<unknown>(list.length);
      for (let i = 0; i < list.length; i++) {
        try {
          tokens[i] = list[i].begin?.(service, context);
        } catch (e) {
          end(tokens, ConnectError.from(e), i);
          throw e;
        }
      }
      return tokens;
    },
    end(tokens, error) {
      end(tokens, error, list.length);
    },
    scope(context, fn, ...args) {
      if (scopes.length === 1) return scopes[0].scope!(context, fn, ...args);
      let run = () => fn(...args);
      for (let i = scopes.length - 1; i >= 0; i--) {
        const inner = run;
        run = () => scopes[i].scope!(context, inner);
      }
      return run();
    },
    scoped: scopes.length > 0,
    defers(tokens) {
      for (let i = 0; i < list.length; i++) if (list[i].defer?.(tokens[i]) === true) return true;
      return false;
    },
    admit(tokens, context) {
      let waits: PromiseLike<void>[] | undefined;
      for (const i of admitters) {
        const wait = list[i].admit!(tokens[i], context);
        if (wait !== undefined) (waits ??= []).push(wait);
      }
      if (waits === undefined) return undefined;
      return waits.length === 1 ? Promise.resolve(waits[0]) : Promise.all(waits).then(() => undefined);
    },
    exempt,
  };
}

/** The protocol a request arrived in, from its content type (connect-es requests do not say). */
function protocolOf(header: Headers): string {
  const ct = header.get("content-type") ?? "";
  if (ct.startsWith("application/grpc-web")) return "grpc-web";
  if (ct.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** What a hook sees of a call that reaches it as a connect-es request (see callHooksInterceptor). */
class RequestHookContext implements CallHookContext {
  readonly #req: UnaryRequest | StreamRequest;
  readonly #receivedAt = Date.now();
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;

  constructor(req: UnaryRequest | StreamRequest) {
    this.#req = req;
  }
  get service(): DescService {
    return this.#req.service;
  }
  get method(): HandlerContext["method"] {
    return this.#req.method;
  }
  get requestMethod(): string {
    return this.#req.requestMethod;
  }
  get url(): string {
    return this.#req.url;
  }
  get protocolName(): string {
    return protocolOf(this.#req.header);
  }
  get signal(): AbortSignal {
    return this.#req.signal;
  }
  get requestHeader(): Headers {
    return this.#req.header;
  }
  get values(): HandlerContext["values"] {
    return this.#req.contextValues;
  }
  /** Headers added here are copied onto the response. */
  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }
  /** Trailers added here are copied onto the response. */
  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }
  /** What the hook set, copied onto a response (or an error's metadata). */
  copyTo(header: Headers, trailer: Headers): void {
    this.#responseHeader?.forEach((v, k) => header.set(k, v));
    this.#responseTrailer?.forEach((v, k) => trailer.set(k, v));
  }
  timeoutMs(): number | undefined {
    const h = this.#req.header;
    const grpc = h.get("grpc-timeout");
    let ms: number | undefined;
    try {
      // The engine in front already validated the header; a bad one was refused there.
      ms = grpc !== null ? parseTimeoutHeader(grpc, true, 0) : parseTimeoutHeader(h.get("connect-timeout-ms") ?? undefined, false, 0);
    } catch {
      ms = undefined;
    }
    return ms === undefined ? undefined : this.#receivedAt + ms - Date.now();
  }
}

/**
 * The hooks as one interceptor, for engines that run interceptors but cannot report call ends
 * themselves (connect-node): the call ends when its response (or error) is produced, or, for streams,
 * when the response stream is done. Response headers and trailers a hook sets are copied onto the
 * response (headers of a stream as soon as the handler answers).
 */
export function callHooksInterceptor(hooks: ComposedCallHooks): Interceptor {
  return (next) => async (req) => {
    if (hooks.exempt.has(req.service.typeName)) return next(req);
    const context = new RequestHookContext(req);
    const tokens = hooks.begin(req.service, context);
    const admitting = hooks.admit(tokens, context);
    if (admitting !== undefined) {
      try {
        await admitting;
      } catch (e) {
        hooks.end(tokens, ConnectError.from(e));
        throw e;
      }
    }
    if (hooks.defers(tokens)) await new Promise((resolve) => setImmediate(resolve));
    let res;
    try {
      res = await (hooks.scoped ? hooks.scope(context, next, req) : next(req));
    } catch (e) {
      hooks.end(tokens, ConnectError.from(e));
      throw e;
    }
    context.copyTo(res.header, res.trailer);
    if (!res.stream) {
      hooks.end(tokens, undefined);
      return res;
    }
    const source = res.message;
    return {
      ...res,
      message: (async function* () {
        let error: ConnectError | undefined;
        try {
          yield* source;
        } catch (e) {
          error = ConnectError.from(e);
          throw e;
        } finally {
          hooks.end(tokens, error);
        }
      })(),
    };
  };
}
