// The host's options: documented, defaulted and validated in one place.

import type { AdminExtensions } from "./admin.ts";
import type { HandlerContext, Interceptor } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import type { ServerCallHooks, WireEngine, HttpFallback, HostLogger } from "../engine/index.ts";
import { HostError, HostErrorCode } from "./errors.ts";
import type { MetricsSource } from "./metrics-route.ts";
import type { HostTlsOptions } from "./port-listener.ts";

/** Options of `createHost`. Every field is optional; defaults are listed per field. */
export interface HostOptions {
  /** Address to listen on. Default "127.0.0.1". Use "0.0.0.0" or "::" to accept remote callers. */
  hostname?: string;
  /** TCP port. Default 8080; 0 picks a free ephemeral port (see `listen()`'s result). */
  port?: number;
  /**
   * Origins allowed to call from a browser (Connect-Web, gRPC-Web), e.g. ["https://shop.example"];
   * "*" allows any origin. Default [] (no cross-origin browser calls; same-origin and non-browser
   * callers are unaffected).
   */
  corsAllowedOrigins?: readonly string[];
  /** Largest request message accepted, in bytes. Default 4 MiB (4_194_304). Larger -> RESOURCE_EXHAUSTED. */
  readMaxBytes?: number;
  /**
   * Largest JSON request message (Connect JSON, gRPC+json, Connect GET with JSON), in bytes, when
   * `methodReadMaxBytes` names no limit for the method: what a browser-facing API needs, far below
   * `readMaxBytes` (parsing JSON costs main-thread time per byte). Default 256 KiB (262_144); never above readMaxBytes.
   */
  jsonReadMaxBytes?: number;
  /**
   * Read limits (bytes, binary and JSON alike) per service or method, keyed "pkg.Service" or
   * "pkg.Service/Method" (the method's own entry wins), e.g. { "shop.gateway.v1.GatewayService": 16_384 }.
   * Every key must name a served service or method (checked by listen()). Default {}.
   */
  methodReadMaxBytes?: Readonly<Record<string, number>>;
  /** Deepest nesting of arrays and objects in a JSON request, checked before parsing. Default 100. Deeper -> INVALID_ARGUMENT. */
  maxJsonDepth?: number;
  /**
   * Cap on how many times larger than its compressed form a request message may inflate (above a
   * 1 MiB floor every message may reach). Default 100; 0 = no cap (the read limit still applies).
   */
  maxDecompressionRatio?: number;
  /**
   * Time to receive a request's body once its headers are in, in milliseconds: a unary or
   * server-streaming call whose message is not complete by then is answered DEADLINE_EXCEEDED and its
   * stream reset (HTTP/1.1: 408 or the same error, and the connection closed). Default 30_000; 0 = none.
   */
  requestBodyTimeoutMs?: number;
  /**
   * Time a new connection has to finish the HTTP/2 preface and SETTINGS, or an HTTP/1.1 request's
   * headers (every request's, on a keep-alive connection), in milliseconds; then it is closed.
   * Default 10_000.
   */
  firstRequestTimeoutMs?: number;
  /**
   * Most open connections; a connection past it is refused in its own protocol (HTTP/1.1 503 with
   * `Retry-After: 1`, HTTP/2 SETTINGS then GOAWAY ENHANCE_YOUR_CALM "too many connections") and closed.
   * Default 10_000.
   */
  maxConnections?: number;
  /** Largest response message sent, in bytes. Default 16 MiB (16_777_216). Larger -> RESOURCE_EXHAUSTED. */
  writeMaxBytes?: number;
  /**
   * Largest request header block, in bytes (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE, HTTP/1.1
   * `maxHeaderSize`). Default 16 KiB (16_384). Larger -> the request is refused at the HTTP layer
   * (431 / stream reset).
   */
  maxHeaderListBytes?: number;
  /** Concurrent HTTP/2 streams (calls) per connection. Default 100. */
  maxConcurrentStreams?: number;
  /**
   * Cap on the timeout a client may request, in milliseconds; a larger one is refused with
   * INVALID_ARGUMENT. Default 300_000 (5 minutes); 0 = no cap.
   */
  maxTimeoutMs?: number;
  /**
   * A connection with no call in progress and no traffic for this long is closed, in milliseconds
   * (HTTP/2 GOAWAY, HTTP/1.1 keep-alive timeout). Default 120_000.
   */
  idleTimeoutMs?: number;
  /**
   * How long a drain waits for in-flight calls before aborting them, in milliseconds. Default 25_000
   * (inside Kubernetes' default 30 s termination grace).
   */
  drainGraceMs?: number;
  /** Connect interceptors run around every call (in-process transport included), outermost first. Default []. */
  interceptors?: readonly Interceptor[];
  /**
   * Server call hooks (call-hooks.ts) around every counted call: synchronous admission, accounting and
   * async-context scopes, kept off the interceptor path. Default [].
   */
  callHooks?: readonly ServerCallHooks[];
  /**
   * Tune V8 for serving RPCs: turns off allocation-site pretenuring for the whole process (see
   * gc-tuning.ts and docs/host.md), and once the process idles after load, runs one full GC that hands
   * the load's heap back (idle-heap-release.ts). Default true; false leaves V8's flags and GC alone.
   */
  tuneGc?: boolean;
  /** A unique id for this process, reported by AdminService.GetStatus. Default: a random UUID. */
  instanceId?: string;
  /** The build version reported by AdminService.GetStatus. Default "0.0.0-dev". */
  version?: string;
  /**
   * The wire engine. Default: Weft's own (`createWeftEngine()` from mesh/protocol); `connectNodeEngine`
   * (connect-node's adapter) serves the same wire behaviour, several times slower.
   */
  engine?: WireEngine;
  /**
   * Plain HTTP on the same port for requests that are not RPCs: GET and HEAD of a path that is not a
   * served method and carries no Connect GET query (`connect=v1`), e.g. a page and its assets. Use
   * `serveStaticFiles({ root })` for a folder, or any `(req, res)` handler. Default: none (such requests
   * get the engine's answer: a Connect-style 404 "unimplemented").
   */
  httpFallback?: HttpFallback;
  /**
   * Prometheus metrics served at GET `/metrics` on the host's port (e.g. mesh/telemetry's
   * `createMetrics()`); its server RPC metrics come from call hooks the caller adds. Default: none
   * (`/metrics` is then an ordinary non-RPC path).
   */
  metrics?: MetricsSource;
  /** Where the host logs unexpected errors and life-cycle events. Default: JSON lines on stdout/stderr. */
  logger?: HostLogger;
  /**
   * TLS key and certificate (PEM): the port then speaks TLS, with h2 and http/1.1 chosen by ALPN;
   * optionally mutual (client certificates required, peer identity per connection, rotation). Default:
   * none (cleartext HTTP/1.1 and h2c prior knowledge on one port).
   */
  tls?: HostTlsOptions;
  /**
   * HTTP/2 connections older than this (+-10% jitter) are closed with GOAWAY, in milliseconds: calls in
   * flight finish, new calls go to a new connection (which picks up rotated certificates and rebalances
   * clients). Default 0 (no limit).
   */
  maxConnectionAgeMs?: number;
  /**
   * Runs before every call of the host's own AdminService (which call hooks do not see); throw a
   * ConnectError to refuse it, e.g. to anonymous callers. Default: none (anyone may call).
   */
  guardAdmin?: (context: HandlerContext) => void;
  /**
   * What a mesh node adds to the AdminService: per-method RED figures, load, the mesh-wide aggregator
   * and event streams. Default: none (the admin API reports this host alone).
   */
  admin?: AdminExtensions;
}

/** HostOptions with every default filled in. */
export interface ResolvedHostOptions {
  readonly hostname: string;
  readonly port: number;
  readonly corsAllowedOrigins: readonly string[];
  readonly readMaxBytes: number;
  readonly jsonReadMaxBytes: number;
  readonly methodReadMaxBytes: Readonly<Record<string, number>>;
  readonly maxJsonDepth: number;
  readonly maxDecompressionRatio: number;
  readonly requestBodyTimeoutMs: number;
  readonly firstRequestTimeoutMs: number;
  readonly maxConnections: number;
  readonly writeMaxBytes: number;
  readonly maxHeaderListBytes: number;
  readonly maxConcurrentStreams: number;
  readonly maxTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly drainGraceMs: number;
  readonly interceptors: readonly Interceptor[];
  readonly tuneGc: boolean;
  readonly callHooks: readonly ServerCallHooks[];
  readonly instanceId: string;
  readonly version: string;
  readonly engine: WireEngine | undefined;
  readonly httpFallback: HttpFallback | undefined;
  readonly metrics: MetricsSource | undefined;
  readonly logger: HostLogger | undefined;
  readonly tls: HostTlsOptions | undefined;
  readonly maxConnectionAgeMs: number;
  readonly guardAdmin: ((context: HandlerContext) => void) | undefined;
  readonly admin: AdminExtensions | undefined;
}

/** The defaults, in one place. */
export const hostDefaults = {
  hostname: "127.0.0.1",
  port: 8080,
  readMaxBytes: 4 * 1024 * 1024,
  jsonReadMaxBytes: 256 * 1024,
  maxJsonDepth: 100,
  maxDecompressionRatio: 100,
  requestBodyTimeoutMs: 30_000,
  firstRequestTimeoutMs: 10_000,
  maxConnections: 10_000,
  writeMaxBytes: 16 * 1024 * 1024,
  maxHeaderListBytes: 16 * 1024,
  maxConcurrentStreams: 100,
  maxTimeoutMs: 300_000,
  idleTimeoutMs: 120_000,
  drainGraceMs: 25_000,
  tuneGc: true,
  version: "0.0.0-dev",
} as const;

/** connect-es encodes message lengths in 32 bits: larger limits are meaningless. */
const MAX_MESSAGE_BYTES = 0xffffffff;

function fail(field: string, problem: string): never {
  throw new HostError(HostErrorCode.options, `options.${field} ${problem}`);
}

function int(options: HostOptions, field: keyof HostOptions, fallback: number, min: number, max: number): number {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function str(options: HostOptions, field: keyof HostOptions, fallback: string): string {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.length === 0) fail(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function bool(options: HostOptions, field: keyof HostOptions, fallback: boolean): boolean {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(field, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function hooks(value: unknown): readonly ServerCallHooks[] {
  if (value === undefined) return [];
  const ok = (h: unknown) =>
    typeof h === "object" && h !== null && ["begin", "end", "scope"].every((k) => (h as Record<string, unknown>)[k] === undefined || typeof (h as Record<string, unknown>)[k] === "function");
  if (!Array.isArray(value) || !value.every(ok)) fail("callHooks", "must be an array of hook objects ({ begin?, end?, scope? } functions)");
  return Object.freeze([...(value as ServerCallHooks[])]);
}

/** "pkg.Service" or "pkg.Service/Method" -> bytes; the keys are matched against served methods by listen(). */
function methodLimits(value: unknown): Readonly<Record<string, number>> {
  if (value === undefined) return Object.freeze({});
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("methodReadMaxBytes", "must be an object of \"pkg.Service[/Method]\": bytes");
  const out: Record<string, number> = {};
  for (const [key, bytes] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[A-Za-z_][\w.]*(\/[A-Za-z_]\w*)?$/.test(key)) fail(`methodReadMaxBytes[${JSON.stringify(key)}]`, "must be keyed \"pkg.Service\" or \"pkg.Service/Method\"");
    if (typeof bytes !== "number" || !Number.isInteger(bytes) || bytes < 1 || bytes > MAX_MESSAGE_BYTES) {
      fail(`methodReadMaxBytes[${JSON.stringify(key)}]`, `must be an integer from 1 to ${MAX_MESSAGE_BYTES}, got ${JSON.stringify(bytes)}`);
    }
    out[key] = bytes;
  }
  return Object.freeze(out);
}

function origins(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail("corsAllowedOrigins", "must be an array of origins or [\"*\"]");
  for (const origin of value) {
    if (origin === "*") continue;
    if (typeof origin !== "string") fail("corsAllowedOrigins", `must hold strings, got ${JSON.stringify(origin)}`);
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      fail("corsAllowedOrigins", `holds ${JSON.stringify(origin)}, which is not an origin such as "https://shop.example"`);
    }
    if (url.origin !== origin) {
      fail("corsAllowedOrigins", `holds ${JSON.stringify(origin)}; an origin has no path or trailing slash (${JSON.stringify(url.origin)})`);
    }
  }
  return Object.freeze([...value]);
}

/** Validates `options` and fills in defaults. Throws HostError WEFT_ERR_HOST_OPTIONS naming the bad field. */
export function resolveHostOptions(options: HostOptions = {}): ResolvedHostOptions {
  if (typeof options !== "object" || options === null) fail("", "must be an object");
  const interceptors = options.interceptors ?? [];
  if (!Array.isArray(interceptors) || interceptors.some((i) => typeof i !== "function")) {
    fail("interceptors", "must be an array of Connect interceptors (functions)");
  }
  if (options.engine !== undefined && typeof options.engine?.attach !== "function") {
    fail("engine", "must be a WireEngine (an object with attach())");
  }
  if (options.httpFallback !== undefined && typeof options.httpFallback !== "function") {
    fail("httpFallback", "must be an HTTP handler function (req, res), e.g. serveStaticFiles({ root })");
  }
  if (options.metrics !== undefined && (typeof options.metrics?.render !== "function" || typeof options.metrics?.contentType !== "string")) {
    fail("metrics", "must have render() and contentType, e.g. createMetrics() from mesh/telemetry");
  }
  if (options.tls !== undefined && (typeof options.tls !== "object" || options.tls === null || options.tls.key === undefined || options.tls.cert === undefined)) {
    fail("tls", "must be { key, cert } (PEM strings or Buffers)");
  }
  if (options.tls?.requireClientCertificate === true && options.tls.ca === undefined) {
    fail("tls.ca", "is required with tls.requireClientCertificate (the CA client certificates must chain to)");
  }
  if (options.guardAdmin !== undefined && typeof options.guardAdmin !== "function") fail("guardAdmin", "must be a function (context) => void");
  if (options.logger !== undefined && (typeof options.logger?.error !== "function" || typeof options.logger?.info !== "function")) {
    fail("logger", "must have error() and info() functions");
  }
  return Object.freeze({
    hostname: str(options, "hostname", hostDefaults.hostname),
    port: int(options, "port", hostDefaults.port, 0, 65535),
    corsAllowedOrigins: origins(options.corsAllowedOrigins),
    readMaxBytes: int(options, "readMaxBytes", hostDefaults.readMaxBytes, 1, MAX_MESSAGE_BYTES),
    jsonReadMaxBytes: int(options, "jsonReadMaxBytes", hostDefaults.jsonReadMaxBytes, 1, MAX_MESSAGE_BYTES),
    methodReadMaxBytes: methodLimits(options.methodReadMaxBytes),
    maxJsonDepth: int(options, "maxJsonDepth", hostDefaults.maxJsonDepth, 1, 100_000),
    maxDecompressionRatio: int(options, "maxDecompressionRatio", hostDefaults.maxDecompressionRatio, 0, 2 ** 31 - 1),
    requestBodyTimeoutMs: int(options, "requestBodyTimeoutMs", hostDefaults.requestBodyTimeoutMs, 0, 2 ** 31 - 1),
    firstRequestTimeoutMs: int(options, "firstRequestTimeoutMs", hostDefaults.firstRequestTimeoutMs, 1, 2 ** 31 - 1),
    maxConnections: int(options, "maxConnections", hostDefaults.maxConnections, 1, 2 ** 31 - 1),
    writeMaxBytes: int(options, "writeMaxBytes", hostDefaults.writeMaxBytes, 1, MAX_MESSAGE_BYTES),
    // 1 KiB floor: below it ordinary gRPC requests could not be sent at all.
    maxHeaderListBytes: int(options, "maxHeaderListBytes", hostDefaults.maxHeaderListBytes, 1024, 1024 * 1024),
    maxConcurrentStreams: int(options, "maxConcurrentStreams", hostDefaults.maxConcurrentStreams, 1, 2 ** 31 - 1),
    maxTimeoutMs: int(options, "maxTimeoutMs", hostDefaults.maxTimeoutMs, 0, 2 ** 31 - 1),
    idleTimeoutMs: int(options, "idleTimeoutMs", hostDefaults.idleTimeoutMs, 1, 2 ** 31 - 1),
    drainGraceMs: int(options, "drainGraceMs", hostDefaults.drainGraceMs, 0, 2 ** 31 - 1),
    interceptors: Object.freeze([...interceptors]),
    tuneGc: bool(options, "tuneGc", hostDefaults.tuneGc),
    callHooks: hooks(options.callHooks),
    instanceId: str(options, "instanceId", "") || randomUUID(),
    version: str(options, "version", hostDefaults.version),
    engine: options.engine,
    httpFallback: options.httpFallback,
    metrics: options.metrics,
    logger: options.logger,
    tls: options.tls,
    maxConnectionAgeMs: int(options, "maxConnectionAgeMs", 0, 0, 2 ** 31 - 1),
    guardAdmin: options.guardAdmin,
    admin: options.admin,
  });
}
