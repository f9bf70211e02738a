// Public entry of the Weft service host.

/** Creates a service host (Connect, gRPC and gRPC-Web on one port). */
export { createHost } from "./host.ts";
/** A service host and where it listens. */
export type { Host, HostAddress } from "./host.ts";
/** The host's options, their resolved form, their defaults and their validation. */
export { hostDefaults, resolveHostOptions } from "./options.ts";
/** Options of `createHost`, and the same with defaults filled in. */
export type { HostOptions, ResolvedHostOptions } from "./options.ts";
/** TLS for the host's port (`tls` option: optionally mutual, with rotation). */
export type { HostTlsMaterial, HostTlsOptions } from "./port-listener.ts";
/** Options of `host.inProcessTransport()` (the caller identity its calls are made as). */
export type { InProcessTransportOptions } from "../protocol/index.ts";
/** The call hook contract (mesh/engine), the host's `callHooks` option. */
export type { CallHookContext, ServerCallHooks } from "../engine/index.ts";
/** The V8 flags a Weft server process runs with (createHost applies them unless `tuneGc: false`). */
export { SERVER_V8_FLAGS, SERVICE_NODE_FLAGS, applyServerV8Flags } from "./gc-tuning.ts";
/** The idle release a host runs under `tuneGc` (one full GC once the process idles after load), for processes without a host. */
export { watchIdleHeap, type HeapRelease, type IdleHeapReleaseOptions } from "./idle-heap-release.ts";
export { serviceCompileCacheEnv } from "./compile-cache.ts";
/** Errors thrown to the host's user (never to callers), with stable WEFT_ERR_HOST_* codes. */
export { HostError, HostErrorCode } from "./errors.ts";
/** Drain phases, and the SIGTERM/SIGINT helper main files call. */
export { drainOnSignals, drainPhases, exitOnSignalsDuringStartup, onShutdownSignals, SIGNAL_REPEAT_WINDOW_MS } from "./drain.ts";
/** Types of the drain API. */
export type { DrainHook, DrainOnSignalsOptions, DrainPhase, Drainable, ShutdownSignalsOptions } from "./drain.ts";
/** Per-service health as served by grpc.health.v1. */
export type { HostHealth, ServingStatus } from "./health.ts";
/** The logger contract (mesh/engine): the default JSON logger and a silent one for tests. */
export { createJsonLogger, readLogLevel, silentLogger } from "../engine/index.ts";
/** The logger contract. */
export type { HostLogger, JsonLoggerOptions, LogLevel } from "../engine/index.ts";
/** The wire-engine contract another protocol engine implements (mesh/engine). */
export type { WireEngine } from "../engine/index.ts";
/** connect-node's adapter as an engine (the reference and baseline; the default is Weft's own). */
export { connectNodeEngine } from "./connect-node-engine.ts";
/** Weft's own wire engine (mesh/protocol), the host's default. */
export { createWeftEngine } from "../protocol/index.ts";
/** Options of Weft's engine. */
export type { WeftEngineOptions } from "../protocol/index.ts";
/** A static folder as the host's `httpFallback` (plain HTTP for non-RPC paths on the same port). */
export { serveStaticFiles, contentTypeFor } from "./static-files.ts";
/** Options of `serveStaticFiles`. */
export type { StaticFilesOptions } from "./static-files.ts";
/** The `httpFallback` handler contract (mesh/engine). */
export type { FallbackRequest, FallbackResponse, HttpFallback } from "../engine/index.ts";
/** The built-in `/metrics` route and what it serves. */
export { isMetricsPath, METRICS_PATH, withMetricsRoute } from "./metrics-route.ts";
export type { MetricsSource } from "./metrics-route.ts";
/** The AdminService's extension points (what a mesh node adds) and the schema files of services. */
export { descriptorFiles } from "./admin.ts";
export type { AdminExtensions, AdminMethodSeries, AdminMethodStats } from "./admin.ts";
