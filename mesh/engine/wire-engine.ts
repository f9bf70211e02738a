// The contract between the Weft host and a wire engine.
//
// The host owns the port, the sockets, the protocol sniffing (HTTP/1.1 vs h2c prior knowledge), the
// limits, the health/reflection/admin services and the drain. A wire engine owns only the bytes of an
// RPC: it parses Connect / gRPC / gRPC-Web requests arriving on the host's HTTP/1.1 and HTTP/2 servers,
// runs the interceptor chain and the handler, and writes the response.
//
// Two engines implement it: `connectNodeEngine` (connect-node's adapter, the reference behaviour) and
// Weft's own protocol engine in mesh/protocol/. Both must pass the same wire tests (test/wire/), so
// everything observable that the host decides (draining -> UNAVAILABLE, unexpected errors -> INTERNAL
// without internals, in-flight accounting) travels through the `calls` gate, and everything the engine
// decides (limits, CORS, unknown routes, malformed input) is described here precisely.
//
// The gate is called by the engine directly rather than run as interceptors: an interceptor can only
// learn that a call is over from its AbortSignal, and reading `req.signal` forces an AbortController
// (and an abort Event) on every call. An engine that cannot report call ends itself (connect-node) runs
// the gate as interceptors instead: `gateInterceptors(calls)` from call-gate.ts.

import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectError, Interceptor, ServiceImpl } from "@connectrpc/connect";
import type { ComposedCallHooks } from "./call-hooks.ts";
import type { CorsPolicy } from "./cors.ts";
import type { FallbackRoute } from "./http-fallback.ts";
import type { HostLogger } from "./logger.ts";

/** One registered service and its (possibly partial) implementation. */
export interface ServiceRegistration {
  /** The service descriptor from generated code (protobuf-es v2 `GenService`). */
  readonly service: DescService;
  /**
   * The handlers. Methods left out must answer UNIMPLEMENTED (connect's router does this for missing
   * methods; another engine must do the same).
   */
  readonly impl: Partial<ServiceImpl<DescService>>;
}

/** Limits an engine must enforce, identically for every protocol. */
export interface EngineLimits {
  /**
   * Maximum size of one request message in bytes (after decompression; for Connect unary and GET, the
   * whole body/query message). Larger -> RESOURCE_EXHAUSTED, without buffering past the limit.
   */
  readonly readMaxBytes: number;
  /** Maximum size of one JSON request message, for methods `methodReadMaxBytes` does not name. */
  readonly jsonReadMaxBytes: number;
  /** Read limits per "pkg.Service" or "pkg.Service/Method" (the method's entry wins), binary and JSON alike. */
  readonly methodReadMaxBytes: Readonly<Record<string, number>>;
  /** Deepest nesting of a JSON request, checked before parsing; deeper -> INVALID_ARGUMENT. */
  readonly maxJsonDepth: number;
  /** Most a compressed request message may inflate, as a multiple of its size above 1 MiB; 0 = no cap. */
  readonly maxDecompressionRatio: number;
  /**
   * Time to receive a single-message request's body after its headers, in milliseconds; then the call
   * is answered DEADLINE_EXCEEDED and its stream reset (HTTP/1.1: connection closed). 0 = none.
   */
  readonly requestBodyTimeoutMs: number;
  /** Maximum size of one response message in bytes. Larger -> RESOURCE_EXHAUSTED to the caller. */
  readonly writeMaxBytes: number;
  /**
   * Cap on the timeout a client may ask for (`grpc-timeout`, `connect-timeout-ms`), in milliseconds.
   * A larger requested timeout is answered with INVALID_ARGUMENT (connect-es semantics). 0 = no cap.
   */
  readonly maxTimeoutMs: number;
}

/**
 * The host's say over each call: admission during a drain, in-flight accounting and error sanitising.
 * An engine calls `enter` once per call to a served method, when it would start the interceptor chain
 * (after the request message is read for unary and server-streaming calls, at once for client and bidi
 * streaming), and `leave` exactly once for every call `enter` counted, when the call is over: response
 * complete, failed, deadline passed, or the client gone (cancelled). Errors that escape the handler and
 * the interceptors go through `sanitize` before they are answered.
 */
export interface CallGate {
  /**
   * Admits a call to `service`. Throws the ConnectError to answer with when the call is refused (the
   * host is draining: UNAVAILABLE, no handler runs). Returns true when the call is counted as in flight
   * (the engine must then call `leave()` once), false when it is not (the host's own health, reflection
   * and admin services).
   */
  enter(service: DescService): boolean;
  /** A counted call is over. */
  leave(): void;
  /**
   * What the caller sees for an error thrown by a handler or interceptor: a ConnectError unchanged; if
   * the call was aborted (deadline, cancel, shutdown: `abortReason` is the abort's reason, `undefined`
   * when the call was not aborted) the abort's ConnectError, or CANCELED; anything else INTERNAL
   * "internal error", the original logged server-side with its stack under `procedure`.
   */
  sanitize(err: unknown, procedure: string, abortReason: unknown): ConnectError;
}

/** Everything an engine needs to serve calls, fixed when the host starts listening. */
export interface EngineContext {
  /** Every service to serve: the user's plus the host's own (health, reflection, admin). */
  readonly services: readonly ServiceRegistration[];
  /**
   * The user's interceptors, outermost first (the host's own behaviour is in `calls`). An engine must
   * run them for unary and streaming calls exactly as connect-es does (a request may be rejected by
   * throwing a ConnectError from an interceptor before the handler runs).
   */
  readonly interceptors: readonly Interceptor[];
  /** The host's admission, in-flight accounting and error sanitising; see CallGate. */
  readonly calls: CallGate;
  /**
   * The host's call hooks (call-hooks.ts), undefined when there are none. An engine calls `begin` right
   * after the gate counted a call whose service is not in `hooks.exempt` (a throw refuses the call),
   * runs interceptors and handler inside `hooks.scope` when `hooks.scoped`, and calls `end` exactly once
   * when the call is over. An engine that cannot report call ends runs `callHooksInterceptor(hooks)`.
   */
  readonly hooks?: ComposedCallHooks;
  /** Limits to enforce. */
  readonly limits: EngineLimits;
  /**
   * CORS decisions. An engine must answer preflights (`OPTIONS` with `Origin` and
   * `Access-Control-Request-Method`) with `cors.preflight(...)` and add `cors.responseHeaders(origin)`
   * to every response of a request that carried an `Origin` header.
   */
  readonly cors: CorsPolicy;
  /**
   * Aborted when the host gives up waiting for in-flight calls (drain grace over, or close). Every
   * handler context's `signal` must abort then, so handlers stop work.
   */
  readonly shutdownSignal: AbortSignal;
  /** Where to report errors that happen outside any handler (socket errors, engine bugs). */
  readonly logger: HostLogger;
  /**
   * Plain HTTP for non-RPC requests, when the host has an `httpFallback`. An engine must hand every
   * request for which `fallback.matches(method, path)` is true (only ever a GET or HEAD) to it, on
   * HTTP/1.1 and HTTP/2, before its own routing; no CORS headers, admission or counting apply to it.
   */
  readonly fallback?: FallbackRoute;
}

/** The servers the host accepts connections for. An engine adds listeners; it never listens itself. */
export interface EngineServers {
  /**
   * The HTTP/1.1 server. An engine serves calls from its `request` event (Connect, gRPC-Web, Connect
   * GET, CORS preflights).
   */
  readonly http1: http.Server;
  /**
   * The HTTP/2 (cleartext, prior knowledge) server. An engine may serve from its `stream` event (raw
   * `ServerHttp2Stream` + headers) or from its compat `request` event, but not both. The host sets
   * `maxConcurrentStreams`, `maxHeaderListSize` and session idle timeouts on it; the engine must not
   * change its settings.
   */
  readonly http2: http2.Http2Server;
}

/** What `attach` returns: a way for the host to release the engine's resources. */
export interface EngineAttachment {
  /**
   * Removes the engine's listeners and frees its resources. In-flight calls are already finished or
   * aborted by `shutdownSignal` when the host calls this.
   */
  detach(): void;
}

/**
 * A wire engine: serves RPCs on the host's servers. `attach` is called once, when the host starts
 * listening; the host guarantees it is the only engine attached to these servers.
 */
export interface WireEngine {
  /** A short name for logs and test reports, e.g. "connect-node". */
  readonly name: string;
  /** Adds the engine's listeners to `servers` and serves the services in `context`. */
  attach(servers: EngineServers, context: EngineContext): EngineAttachment;
}
