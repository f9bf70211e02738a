// Calls a host's own handlers from the same process (a gateway calling the catalog it serves) as a
// connect-es `Transport`, without a wire protocol in between: the request and response messages are
// cloned (so neither side can mutate the other's), and the call runs the same admission, interceptors,
// deadline, cancellation and error sanitising as a call that came in over the network. connect-es's
// createRouterTransport would run the whole Connect protocol in memory per call (serialise, frame,
// parse, both ways), which made a composite call several times slower than the calls it is made of.

import { create } from "@bufbuild/protobuf";
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ContextValues, StreamResponse, Transport, UnaryResponse } from "@connectrpc/connect";
import type { IncomingHttpHeaders } from "node:http";
import { LazyHandlerContext } from "./handler-context.ts";
import type { ContextOwner } from "./handler-context.ts";
import { Invoker, normalizeIterable } from "./invoke.ts";
import { buildMethodTable } from "./method-table.ts";
import type { MethodEntry } from "./method-table.ts";
import { ShutdownWatch } from "./shutdown-watch.ts";
import type { EngineContext } from "../engine/index.ts";
import { compileClone } from "../codec/index.ts";

/** The protocol name handlers see in `context.protocolName` for in-process calls. */
export const IN_PROCESS_PROTOCOL = "in-process";

/** Options of {@link createInProcessTransport}. */
export interface InProcessTransportOptions {
  /**
   * The workload identity every call through this transport is made as (handlers and hooks see it as
   * the peer identity). Default: none (anonymous, as a caller with no certificate).
   */
  readonly peerIdentity?: string;
}

/** Caller headers as the lower-case header object a handler context reads. */
function rawHeaders(init: HeadersInit | undefined): IncomingHttpHeaders {
  const raw: IncomingHttpHeaders = {};
  if (init === undefined) return raw;
  new Headers(init).forEach((value, key) => {
    raw[key] = value;
  });
  return raw;
}

/** One in-process call: its context, deadline, cancellation and admission, ended exactly once. */
class InProcessCall implements ContextOwner {
  readonly ctx: LazyHandlerContext;
  readonly #context: EngineContext;
  readonly #entry: MethodEntry;
  readonly #signal: AbortSignal | undefined;
  #counted = false;
  #hookTokens: unknown[] | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #onAbort: (() => void) | undefined = undefined;
  #ended = false;
  /** Rejects the caller's promise when the deadline passes or the caller cancels. */
  #interrupt: ((err: ConnectError) => void) | undefined = undefined;

  constructor(context: EngineContext, shutdown: ShutdownWatch, entry: MethodEntry, header: HeadersInit | undefined, signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    this.#context = context;
    this.#entry = entry;
    this.#signal = signal;
    this.ctx = new LazyHandlerContext(entry.method, IN_PROCESS_PROTOCOL, "POST", rawHeaders(header), "in-process", this, shutdown);
    const cap = context.limits.maxTimeoutMs;
    const ms = timeoutMs !== undefined && timeoutMs > 0 ? (cap > 0 ? Math.min(timeoutMs, cap) : timeoutMs) : undefined;
    if (ms !== undefined) {
      this.ctx.deadline = Date.now() + ms;
      this.#timer = setTimeout(() => this.#stop(new ConnectError("the operation timed out", Code.DeadlineExceeded)), ms);
    }
  }

  /** The handler read its signal: the caller's cancellation must reach it (see `#stop`). */
  watchCancel(): void {}

  /** Admits the call (throws the refusal) and starts following the caller's signal. */
  enter(): void {
    const signal = this.#signal;
    if (signal?.aborted === true) throw ConnectError.from(signal.reason, Code.Canceled);
    if (this.#entry.impl === undefined) throw new ConnectError(`${this.#entry.path} is not implemented`, Code.Unimplemented);
    this.#counted = this.#context.calls.enter(this.#entry.service);
    const hooks = this.#context.hooks;
    if (this.#counted && hooks !== undefined && !hooks.exempt.has(this.#entry.service.typeName)) {
      this.#hookTokens = hooks.begin(this.#entry.service, this.ctx);
    }
    if (signal !== undefined) {
      this.#onAbort = () => this.#stop(ConnectError.from(signal.reason, Code.Canceled));
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** The hooks' asynchronous admission of this call, or undefined to start now. */
  admitting(): Promise<void> | undefined {
    return this.#hookTokens === undefined ? undefined : this.#context.hooks!.admit(this.#hookTokens, this.ctx);
  }

  /** True when a call hook asked for this call to start after the current turn's I/O. */
  deferred(): boolean {
    return this.#hookTokens !== undefined && this.#context.hooks!.defers(this.#hookTokens);
  }

  /** Runs `fn` inside the call hooks' scope, if any. */
  scoped<T>(fn: () => T): T {
    const hooks = this.#context.hooks;
    return this.#hookTokens !== undefined && hooks!.scoped ? hooks!.scope(this.ctx, fn) : fn();
  }

  /** Races `work` against the deadline and the caller's cancellation. */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#interrupt = reject;
      work.then(resolve, reject);
    });
  }

  #stop(err: ConnectError): void {
    if (this.#ended) return;
    this.ctx.abort(err);
    this.#interrupt?.(err);
    this.end(err);
  }

  /** What the caller sees for a failure: the call's own abort reason, a ConnectError, or a sanitised INTERNAL. */
  error(e: unknown): ConnectError {
    // Inside the hooks' scope, so that the log line of an unexpected error carries the call's trace.
    return this.scoped(() => this.#context.calls.sanitize(e, this.#entry.path, this.ctx.abortReason));
  }

  /** Ends the call: timer, listener, in-flight count, and the handler's signal. Idempotent. */
  end(err: ConnectError | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener("abort", this.#onAbort);
    if (this.#counted) this.#context.calls.leave();
    if (this.#hookTokens !== undefined) this.#context.hooks!.end(this.#hookTokens, err);
    this.ctx.abort(err);
  }
}

/** A message the other side may keep and mutate: init shapes are created, messages cloned (protobuf-es's clone, compiled). */
function ownCopy(schema: DescMessage, value: unknown, normalize: (v: unknown) => unknown): unknown {
  return compileClone(schema).clone(normalize(value) as never);
}

/** The single request of a server-streaming call. */
async function firstOf<T>(input: AsyncIterable<T>, kind: string): Promise<T> {
  for await (const m of input) return m;
  throw new ConnectError(`protocol error: missing input message for ${kind} method`, Code.Unimplemented);
}

/** Builds the in-process transport over the services and settings the host would hand an engine. */
export function createInProcessTransport(context: EngineContext, options: InProcessTransportOptions = {}): Transport {
  const peerIdentity = options.peerIdentity;
  const shutdown = new ShutdownWatch(context.shutdownSignal);
  const table = buildMethodTable(context.services);
  const interceptors = [...context.interceptors];
  const invoker = new Invoker(interceptors);
  // Entries by method object: a call does not build its path to look its entry up.
  const entries = new WeakMap<DescMethodUnary | DescMethodStreaming, MethodEntry>();
  const entryOf = (method: DescMethodUnary | DescMethodStreaming): MethodEntry => {
    let entry = entries.get(method);
    if (entry !== undefined) return entry;
    const path = `/${method.parent.typeName}/${method.name}`;
    entry = table.get(path);
    if (entry === undefined) throw new ConnectError(`${path} is not implemented`, Code.Unimplemented);
    entries.set(method, entry);
    return entry;
  };
  const inputNormalizer = (schema: DescMessage) => (v: unknown) =>
    v !== null && typeof v === "object" && (v as { $typeName?: string }).$typeName === schema.typeName ? v : create(schema, v as never);

  return {
    async unary<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: MessageInitShape<I>, _values?: ContextValues): Promise<UnaryResponse<I, O>> {
      const entry = entryOf(method);
      const call = new InProcessCall(context, shutdown, entry, header, signal, timeoutMs);
      call.ctx.peerIdentity = peerIdentity;
      try {
        call.enter();
        const admitting = call.admitting();
        if (admitting !== undefined) await call.race(admitting);
        if (call.deferred()) await call.race(new Promise<void>((resolve) => setImmediate(resolve)));
        const request = ownCopy(method.input, input, inputNormalizer(method.input));
        const out = call.scoped(() => (interceptors.length === 0 ? Promise.resolve(entry.impl!(request, call.ctx)) : invoker.unary(entry, call.ctx, request)));
        const message = ownCopy(method.output, await call.race(out), entry.normalize);
        const response: UnaryResponse<I, O> = {
          stream: false,
          service: method.parent,
          method,
          header: call.ctx.responseHeader,
          trailer: call.ctx.responseTrailer,
          message: message as never,
        };
        call.end(undefined);
        return response;
      } catch (e) {
        const err = call.error(e);
        call.end(err);
        throw err;
      }
    },

    async stream<I extends DescMessage, O extends DescMessage>(method: DescMethodStreaming<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<MessageInitShape<I>>, _values?: ContextValues): Promise<StreamResponse<I, O>> {
      const entry = entryOf(method);
      const call = new InProcessCall(context, shutdown, entry, header, signal, timeoutMs);
      call.ctx.peerIdentity = peerIdentity;
      try {
        call.enter();
      } catch (e) {
        const err = call.error(e);
        call.end(err);
        throw err;
      }
      const normalizeIn = inputNormalizer(method.input);
      const requests = (async function* () {
        for await (const m of input) yield ownCopy(method.input, m, normalizeIn);
      })();
      const output = (async function* () {
        try {
          const admitting = call.admitting();
          if (admitting !== undefined) await call.race(admitting);
          if (call.deferred()) await call.race(new Promise<void>((resolve) => setImmediate(resolve)));
          const first = entry.kind === "server_streaming" && interceptors.length === 0 ? await firstOf(requests, entry.kind) : undefined;
          const source = call.scoped(() =>
            interceptors.length > 0
              ? invoker.stream(entry, call.ctx, requests)
              : entry.kind === "client_streaming"
                ? (async function* () { yield await entry.impl!(requests, call.ctx); })()
                : entry.kind === "server_streaming"
                  ? normalizeIterable(entry, entry.impl!(first, call.ctx))
                  : normalizeIterable(entry, entry.impl!(requests, call.ctx)));
          const it = source[Symbol.asyncIterator]();
          for (;;) {
            const next = await call.race(it.next());
            if (next.done === true) break;
            yield ownCopy(method.output, next.value, entry.normalize);
          }
          call.end(undefined);
        } catch (e) {
          const err = call.error(e);
          call.end(err);
          throw err;
        } finally {
          // The caller stopped reading early: the call is over for the handler too.
          call.end(new ConnectError("the caller stopped reading", Code.Canceled));
        }
      })();
      return {
        stream: true,
        service: method.parent,
        method,
        header: call.ctx.responseHeader,
        trailer: call.ctx.responseTrailer,
        message: output as AsyncIterable<never>,
      } as StreamResponse<I, O>;
    },
  };
}
