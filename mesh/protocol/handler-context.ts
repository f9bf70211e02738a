// A connect-es `HandlerContext` that costs almost nothing until a handler reads it: the AbortSignal,
// the request Headers, the response header/trailer Headers and the context values are all created on
// first access. Most handlers read none of them, so most calls allocate none of them.

import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type { ContextValues } from "@connectrpc/connect";
import type { IncomingHttpHeaders } from "node:http";
import type { CallHookContext } from "../engine/index.ts";
import type { ShutdownTarget, ShutdownWatch } from "./shutdown-watch.ts";

/**
 * The reason the signal carries when a call completes normally. connect-es aborts the signal on
 * completion too; one shared instance spares building a DOMException (and its stack) per call.
 */
const COMPLETED = new DOMException("the call is complete", "AbortError");

/** What the context needs from the call that owns it. */
export interface ContextOwner {
  /** Called once, when a handler first reads `signal`: start watching for client cancellation. */
  watchCancel(): void;
  /** The caller's IP address, when the transport knows it. */
  readonly peerAddress?: string | undefined;
}

/**
 * Where the host keeps a connection's verified peer identity (set once per TLS connection, on the
 * socket and on its HTTP/2 session); engines copy it into each call's context.
 */
export const PEER_IDENTITY: unique symbol = Symbol.for("weft.peerIdentity");

/** A socket or session that may carry a verified peer identity. */
export type PeerCarrier = { [PEER_IDENTITY]?: string };

/** Converts raw Node headers into WHATWG Headers, dropping HTTP/2 pseudo-headers. */
export function toHeaders(raw: IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const key in raw) {
    if (key.charCodeAt(0) === 58 /* ':' */) continue;
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v === "string") h.append(key, v);
    else for (const item of v) h.append(key, item);
  }
  return h;
}

/** A lazily materialised HandlerContext. */
export class LazyHandlerContext implements CallHookContext, ShutdownTarget {
  readonly method: DescMethod;
  readonly service: DescService;
  readonly protocolName: string;
  readonly requestMethod: string;
  /** Absolute deadline (Date.now() based), 0 for none. */
  deadline = 0;
  /** The request object handed to the interceptor chain (invoke.ts), to spot replacements cheaply. */
  interceptedRequest: object | undefined = undefined;
  /** The response object the innermost function returned (invoke.ts). */
  innerResponse: object | undefined = undefined;
  /**
   * The caller's verified workload identity (a SPIFFE URI from its TLS client certificate, or the one
   * an in-process transport was made for); undefined for an anonymous caller.
   */
  peerIdentity: string | undefined = undefined;
  #raw: IncomingHttpHeaders;
  #owner: ContextOwner;
  #shutdown: ShutdownWatch | undefined;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ContextValues | undefined;
  #ac: AbortController | undefined;
  /** Set once the call is over (or aborted) before anyone asked for the signal. */
  #endReason: unknown = undefined;
  #ended = false;
  #authority: string;

  constructor(method: DescMethod, protocolName: string, requestMethod: string, raw: IncomingHttpHeaders, authority: string, owner: ContextOwner, shutdown: ShutdownWatch | undefined) {
    this.method = method;
    this.service = method.parent;
    this.protocolName = protocolName;
    this.requestMethod = requestMethod;
    this.#raw = raw;
    this.#owner = owner;
    this.#shutdown = shutdown;
    this.#authority = authority;
  }

  /** The request path with its query, as received. */
  path = "";

  /** The caller's IP address, when the transport knows it (call hooks: CallHookContext). */
  get peerAddress(): string | undefined {
    return this.#owner.peerAddress;
  }

  get url(): string {
    return `http://${this.#authority}${this.path || `/${this.service.typeName}/${this.method.name}`}`;
  }

  get signal(): AbortSignal {
    let ac = this.#ac;
    if (ac === undefined) {
      ac = this.#ac = new AbortController();
      if (this.#ended) {
        ac.abort(this.#endReason);
      } else {
        const shutdown = this.#shutdown;
        if (shutdown !== undefined) {
          if (shutdown.aborted) ac.abort(new ConnectError("server is shutting down", Code.Unavailable));
          else shutdown.add(this);
        }
        this.#owner.watchCancel();
      }
    }
    return ac.signal;
  }

  /** The reason the call was aborted or ended with (undefined while it runs), without creating a signal. */
  get abortReason(): unknown {
    return this.#ended ? this.#endReason : this.#ac?.signal.aborted ? this.#ac.signal.reason : undefined;
  }

  /** True once a handler holds the signal (so cancellation must be propagated). */
  get signalInUse(): boolean {
    return this.#ac !== undefined;
  }

  timeoutMs(): number | undefined {
    return this.deadline === 0 ? undefined : this.deadline - Date.now();
  }

  get requestHeader(): Headers {
    return (this.#requestHeader ??= this.readRequestHeader());
  }

  /** Builds the request Headers on first read; a server whose headers are not Node's overrides it (NATS). */
  protected readRequestHeader(): Headers {
    return toHeaders(this.#raw);
  }

  /** One request header's value (lower-case name), read without building `requestHeader`. */
  requestHeaderValue(name: string): string | undefined {
    if (this.#requestHeader !== undefined) return this.#requestHeader.get(name) ?? undefined;
    const v = this.#raw[name];
    return v === undefined ? undefined : typeof v === "string" ? v : v.join(", ");
  }

  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }

  /** The response headers if a handler or interceptor touched them. */
  get responseHeaderIfAny(): Headers | undefined {
    return this.#responseHeader;
  }

  /** The response trailers if a handler or interceptor touched them. */
  get responseTrailerIfAny(): Headers | undefined {
    return this.#responseTrailer;
  }

  get values(): ContextValues {
    return (this.#values ??= createContextValues());
  }

  /**
   * Ends the call: aborts the signal (connect-es aborts it on completion too) if anyone holds it, and
   * releases the shutdown listener. Idempotent.
   */
  abort(reason?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endReason = reason ?? COMPLETED;
    if (this.#ac !== undefined) {
      this.#shutdown?.delete(this);
      this.#ac.abort(this.#endReason);
    }
  }

  /** The server is shutting down: the handler's signal aborts with UNAVAILABLE (ShutdownWatch). */
  abortForShutdown(): void {
    this.abort(new ConnectError("server is shutting down", Code.Unavailable));
  }
}
